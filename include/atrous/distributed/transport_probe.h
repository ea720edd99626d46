#pragma once
// Which transports this process's MPI library really uses, read from what the process holds, not
// guessed from configuration. Call it after the rank has exchanged a message with every other rank
// (MPI opens most connections lazily; `atrous info` does an MPI_Alltoall first).
//
//   between nodes: "TCP (K connections)" when the process holds K established TCP connections to
//                  addresses that are not this node's own (getifaddrs); "TCP to this host's own
//                  addresses only (K connections)" when all of them stay on this host (nodes that
//                  share one network stack); "no TCP connection (another network, e.g. InfiniBand
//                  through UCX)" when it holds none; "none (one node)" when the world is one node.
//   within a node: "shared memory (FILE...)" when the process maps files under /dev/shm (Open MPI's
//                  vader segments, MPICH's nemesis); "no shared-memory segment mapped" otherwise;
//                  "none (alone on its node)" for a rank without node-mates.
//
// Linux only: /proc/self/fd (which sockets are this process's), /proc/self/net/tcp and tcp6 (their
// endpoints; in this process's network namespace) and /proc/self/maps. The parsers below are pure
// functions of those files' text, so they are tested on fixed text.

#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace atrous::distributed {

struct TcpConnection {
  std::string local_address;   // "10.0.0.11", "::1"
  std::string remote_address;  // without the port
  uint64_t inode = 0;          // the socket's inode, as /proc/self/fd names it: socket:[inode]
};

// The ESTABLISHED connections listed in the text of /proc/net/tcp (is_ipv6 false) or tcp6 (true).
std::vector<TcpConnection> parse_established_tcp(const std::string& proc_net_tcp, bool is_ipv6);

// The inodes of the sockets among readlink() targets of /proc/self/fd/* ("socket:[123]" -> 123).
std::set<uint64_t> parse_socket_inodes(const std::vector<std::string>& fd_targets);

// The distinct files under /dev/shm that the text of /proc/self/maps maps.
std::vector<std::string> parse_shared_memory_files(const std::string& proc_self_maps);

// How many of `connections` belong to this process (their inode is in `own_sockets`) and lead to an
// address that is not one of `own_addresses`.
int count_connections_to_other_hosts(const std::vector<TcpConnection>& connections,
                                     const std::set<uint64_t>& own_sockets,
                                     const std::set<std::string>& own_addresses);

struct TransportReport {
  std::string within_node;
  std::string between_nodes;
};

// Reads this process's /proc files and interfaces; local_size and node_count come from the World.
TransportReport probe_transports(int local_size, int node_count);

}  // namespace atrous::distributed
