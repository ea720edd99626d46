#include <gtest/gtest.h>

#include "atrous/distributed/transport_probe.h"

namespace atrous::distributed {
namespace {

// Two established IPv4 connections (10.70.80.11 -> 10.70.80.12:1024 and a loopback one) and a listener.
const char* proc_net_tcp =
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
    "   0: 00000000:4650 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0\n"
    "   1: 0B50460A:9C40 0C50460A:0400 01 00000000:00000000 00:00000000 00000000     0        0 222 1 0\n"
    "   2: 0100007F:9C41 0100007F:0401 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0\n";

// ::ffff:10.70.80.13 (an IPv4 host seen through an IPv6 socket) and ::1.
const char* proc_net_tcp6 =
    "  sl  local_address                         remote_address                        st tx_queue rx_queue\n"
    "   0: 0000000000000000FFFF00000B50460A:9C40 0000000000000000FFFF00000D50460A:0400 01 00000000:00000000 "
    "00:00000000 00000000 0 0 444 1 0\n"
    "   1: 00000000000000000000000001000000:9C40 00000000000000000000000001000000:0400 01 00000000:00000000 "
    "00:00000000 00000000 0 0 555 1 0\n";

TEST(TransportProbe, ParsesEstablishedIpv4ConnectionsAndSkipsListeners) {
  std::vector<TcpConnection> connections = parse_established_tcp(proc_net_tcp, false);
  ASSERT_EQ(connections.size(), 2u);
  EXPECT_EQ(connections[0].local_address, "10.70.80.11");
  EXPECT_EQ(connections[0].remote_address, "10.70.80.12");
  EXPECT_EQ(connections[0].inode, 222u);
  EXPECT_EQ(connections[1].remote_address, "127.0.0.1");
}

TEST(TransportProbe, ParsesIpv6AndIpv4MappedAddresses) {
  std::vector<TcpConnection> connections = parse_established_tcp(proc_net_tcp6, true);
  ASSERT_EQ(connections.size(), 2u);
  EXPECT_EQ(connections[0].remote_address, "10.70.80.13");
  EXPECT_EQ(connections[1].remote_address, "::1");
  EXPECT_EQ(connections[1].inode, 555u);
}

TEST(TransportProbe, SocketInodesComeOnlyFromSocketLinks) {
  std::set<uint64_t> inodes = parse_socket_inodes(
      {"socket:[222]", "/dev/null", "pipe:[999]", "socket:[444]", "socket:[x]", "anon_inode:[eventfd]"});
  EXPECT_EQ(inodes, (std::set<uint64_t>{222, 444}));
}

TEST(TransportProbe, CountsOnlyOwnConnectionsToOtherHosts) {
  std::vector<TcpConnection> connections = parse_established_tcp(proc_net_tcp, false);
  std::vector<TcpConnection> v6 = parse_established_tcp(proc_net_tcp6, true);
  connections.insert(connections.end(), v6.begin(), v6.end());
  const std::set<std::string> own_addresses{"127.0.0.1", "::1", "10.70.80.11"};
  EXPECT_EQ(count_connections_to_other_hosts(connections, {222, 333, 444, 555}, own_addresses), 2);
  // Another process's connection (inode not among this process's sockets) does not count.
  EXPECT_EQ(count_connections_to_other_hosts(connections, {333, 555}, own_addresses), 0);
  // A connection to this node's own address (e.g. to the local MPI daemon) does not count.
  EXPECT_EQ(count_connections_to_other_hosts(connections, {222}, {"10.70.80.12"}), 0);
}

TEST(TransportProbe, SharedMemoryFilesAreTheDistinctMappingsUnderDevShm) {
  const char* maps =
      "7f00-7f10 rw-s 00000000 00:1a 12 /dev/shm/vader_segment.node1.8f2a0001.0\n"
      "7f10-7f20 rw-s 00001000 00:1a 12 /dev/shm/vader_segment.node1.8f2a0001.0\n"
      "7f20-7f30 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libmpi.so.40\n"
      "7f30-7f40 rw-s 00000000 00:1a 13 /dev/shm/psm2_shm.1 (deleted)\n"
      "7f40-7f50 rw-p 00000000 00:00 0 \n";
  EXPECT_EQ(parse_shared_memory_files(maps),
            (std::vector<std::string>{"/dev/shm/vader_segment.node1.8f2a0001.0", "/dev/shm/psm2_shm.1"}));
  EXPECT_TRUE(parse_shared_memory_files("7f40-7f50 rw-p 00000000 00:00 0 [heap]\n").empty());
}

}  // namespace
}  // namespace atrous::distributed
