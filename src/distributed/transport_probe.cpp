#include "atrous/distributed/transport_probe.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "atrous/core/error.h"

namespace atrous::distributed {
namespace {

constexpr const char* established_state = "01";

// /proc/net/tcp writes an address as the hex of its 32-bit words in host byte order.
std::string address_from_proc_hex(const std::string& hex, bool is_ipv6) {
  const size_t words = is_ipv6 ? 4 : 1;
  if (hex.size() != words * 8) return "";
  std::array<uint32_t, 4> raw{};
  for (size_t word = 0; word < words; ++word)
    raw[word] = static_cast<uint32_t>(std::stoul(hex.substr(word * 8, 8), nullptr, 16));
  char text[INET6_ADDRSTRLEN] = {};
  if (!is_ipv6) {
    in_addr address{};
    address.s_addr = raw[0];
    inet_ntop(AF_INET, &address, text, sizeof(text));
    return text;
  }
  in6_addr address{};
  std::copy_n(reinterpret_cast<const unsigned char*>(raw.data()), 16, address.s6_addr);
  if (IN6_IS_ADDR_V4MAPPED(&address)) {  // ::ffff:a.b.c.d is the IPv4 host a.b.c.d
    in_addr v4{};
    std::copy_n(address.s6_addr + 12, 4, reinterpret_cast<unsigned char*>(&v4.s_addr));
    inet_ntop(AF_INET, &v4, text, sizeof(text));
    return text;
  }
  inet_ntop(AF_INET6, &address, text, sizeof(text));
  return text;
}

std::string read_text(const std::string& path) {
  std::ifstream file(path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::set<std::string> own_interface_addresses() {
  std::set<std::string> addresses;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return addresses;
  for (ifaddrs* entry = list; entry != nullptr; entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr) continue;
    char text[INET6_ADDRSTRLEN] = {};
    if (entry->ifa_addr->sa_family == AF_INET)
      inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(entry->ifa_addr)->sin_addr, text, sizeof(text));
    else if (entry->ifa_addr->sa_family == AF_INET6)
      inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(entry->ifa_addr)->sin6_addr, text, sizeof(text));
    if (text[0] != '\0') addresses.insert(text);
  }
  freeifaddrs(list);
  return addresses;
}

std::vector<std::string> own_fd_targets() {
  std::vector<std::string> targets;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", error)) {
    std::error_code link_error;
    auto target = std::filesystem::read_symlink(entry.path(), link_error);
    if (!link_error) targets.push_back(target.string());
  }
  return targets;
}

}  // namespace

std::vector<TcpConnection> parse_established_tcp(const std::string& proc_net_tcp, bool is_ipv6) {
  std::vector<TcpConnection> connections;
  std::istringstream lines(proc_net_tcp);
  std::string line;
  std::getline(lines, line);  // the column titles
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
    if (!(fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >>
          inode))
      continue;
    if (state != established_state) continue;
    TcpConnection connection;
    connection.local_address = address_from_proc_hex(local.substr(0, local.find(':')), is_ipv6);
    connection.remote_address = address_from_proc_hex(remote.substr(0, remote.find(':')), is_ipv6);
    try {
      connection.inode = std::stoull(inode);
    } catch (const std::exception&) {
      continue;
    }
    if (!connection.remote_address.empty()) connections.push_back(connection);
  }
  return connections;
}

std::set<uint64_t> parse_socket_inodes(const std::vector<std::string>& fd_targets) {
  std::set<uint64_t> inodes;
  const std::string prefix = "socket:[";
  for (const auto& target : fd_targets) {
    if (target.rfind(prefix, 0) != 0 || target.back() != ']') continue;
    try {
      inodes.insert(std::stoull(target.substr(prefix.size(), target.size() - prefix.size() - 1)));
    } catch (const std::exception&) {
    }
  }
  return inodes;
}

std::vector<std::string> parse_shared_memory_files(const std::string& proc_self_maps) {
  std::vector<std::string> files;
  std::istringstream lines(proc_self_maps);
  std::string line;
  while (std::getline(lines, line)) {
    size_t at = line.find(" /dev/shm/");
    if (at == std::string::npos) continue;
    std::string path = line.substr(at + 1);
    path = path.substr(0, path.find(" (deleted)"));
    if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
  }
  return files;
}

int count_connections_to_other_hosts(const std::vector<TcpConnection>& connections,
                                     const std::set<uint64_t>& own_sockets,
                                     const std::set<std::string>& own_addresses) {
  return static_cast<int>(std::count_if(connections.begin(), connections.end(), [&](const TcpConnection& c) {
    return own_sockets.count(c.inode) > 0 && own_addresses.count(c.remote_address) == 0;
  }));
}

TransportReport probe_transports(int local_size, int node_count) {
  TransportReport report;
  if (local_size <= 1) {
    report.within_node = "none (alone on its node)";
  } else {
    std::vector<std::string> files = parse_shared_memory_files(read_text("/proc/self/maps"));
    if (files.empty()) {
      report.within_node = "no shared-memory segment mapped";
    } else {
      report.within_node = "shared memory (" + std::filesystem::path(files.front()).filename().string();
      if (files.size() > 1) report.within_node += to_text(" and ", files.size() - 1, " more");
      report.within_node += ")";
    }
  }
  if (node_count <= 1) {
    report.between_nodes = "none (one node)";
    return report;
  }
  std::vector<TcpConnection> connections = parse_established_tcp(read_text("/proc/self/net/tcp"), false);
  std::vector<TcpConnection> v6 = parse_established_tcp(read_text("/proc/self/net/tcp6"), true);
  connections.insert(connections.end(), v6.begin(), v6.end());
  const std::set<uint64_t> own_sockets = parse_socket_inodes(own_fd_targets());
  const int to_other_hosts =
      count_connections_to_other_hosts(connections, own_sockets, own_interface_addresses());
  const int all = count_connections_to_other_hosts(connections, own_sockets, {});  // every one of ours
  if (to_other_hosts > 0)
    report.between_nodes =
        to_text("TCP (", to_other_hosts, " connection", to_other_hosts == 1 ? "" : "s", ")");
  else if (all > 0)
    report.between_nodes = to_text("TCP to this host's own addresses only (", all, " connection",
                                   all == 1 ? "" : "s", "): the nodes share one network stack");
  else
    report.between_nodes = "no TCP connection (another network, e.g. InfiniBand through UCX)";
  return report;
}

}  // namespace atrous::distributed
