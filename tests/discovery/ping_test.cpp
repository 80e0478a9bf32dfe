// UDP + PING: members on 127.0.0.1 find each other by IP multicast on the loopback interface,
// agree on one view and exchange unicast and multicast messages. Skipped (saying so) where the
// kernel refuses multicast. PING refuses a transport that cannot multicast.
#include <doctest/doctest.h>
#include <unistd.h>

#include <filesystem>

#include "config/null_runtime.hpp"
#include "config/stack_builder.hpp"
#include "config/stack_config.hpp"
#include "discovery/ping.hpp"
#include "discovery/register.hpp"
#include "protocols/builtin.hpp"
#include "protocols/tcp_test_util.hpp"
#include "protocols/udp_test_util.hpp"
#include "source_dir.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

constexpr const char* group = "228.8.8.10";

std::vector<std::unique_ptr<Protocol>> udp_ping(int mcast_offset) {
  std::vector<std::unique_ptr<Protocol>> v;
  v.push_back(make_udp(
      {{"mcast_addr", group}, {"mcast_port", std::to_string(test_mcast_port(mcast_offset))}}));
  auto p = std::make_unique<Ping>();
  REQUIRE(p->set_attribute("interval", "200ms") == "");
  REQUIRE(p->set_attribute("join_timeout", "300ms") == "");
  REQUIRE(p->set_attribute("member_timeout", "3s") == "");
  v.push_back(std::move(p));
  return v;
}

bool same_view(std::vector<NetNode*> nodes, size_t size) {
  View first = nodes.front()->last_view();
  if (first.size() != size) return false;
  for (auto* n : nodes)
    if (n->last_view().members() != first.members()) return false;
  return true;
}

}  // namespace

TEST_CASE("PING: three members over UDP find each other by multicast and exchange messages") {
  COHORT_REQUIRE_MULTICAST(group, static_cast<uint16_t>(test_mcast_port(0)));
  std::string cluster = unique_net_cluster("ping-" + std::to_string(::getpid()));
  NetNode a, b, c;
  a.open("A", udp_ping(0));
  b.open("B", udp_ping(0));
  c.open("C", udp_ping(0));
  for (auto* n : {&a, &b, &c})
    n->ch->connect(cluster);
  REQUIRE(eventually([&] { return same_view({&a, &b, &c}, 3); }));

  a.ch->send(c.ch->address(), Buffer::copy_of(std::string_view("A to C")));
  b.ch->send(Address(), Buffer::copy_of(std::string_view("B to all")));
  CHECK(eventually([&] { return c.count_of("A to C") == 1; }));
  for (auto* n : {&a, &b, &c})
    CHECK(eventually([&] { return n->count_of("B to all") == 1; }));
  CHECK(a.received == 1);  // discovery's own messages never reach the application
  // Discovery requests went out as multicasts (one datagram per round, not one per member).
  CHECK(a.stat("UDP", "multicasts_sent") > 0);
  CHECK(a.stat("PING", "requests_received") > 0);

  SUBCASE("a member that leaves is removed at once") {
    Address gone = c.ch->address();
    c.ch->close();
    CHECK(eventually([&] { return same_view({&a, &b}, 2); }, std::chrono::milliseconds(2500)));
    CHECK(!a.last_view().contains(gone));
  }
}

TEST_CASE("PING: members of another cluster on the same group are not found") {
  COHORT_REQUIRE_MULTICAST(group, static_cast<uint16_t>(test_mcast_port(1)));
  std::string base = "ping-other-" + std::to_string(::getpid());
  NetNode a, b;
  a.open("A", udp_ping(1));
  b.open("B", udp_ping(1));
  a.ch->connect(base + "-1");
  b.ch->connect(base + "-2");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  CHECK(a.last_view().size() == 1);
  CHECK(b.last_view().size() == 1);
  CHECK(eventually([&] { return a.stat("UDP", "wrong_cluster") > 0; }));
}

TEST_CASE("PING: needs a transport that can multicast") {
  ProtocolStack stack(std::make_shared<NullRuntime>());
  stack.add(make_tcp());
  stack.add(std::make_unique<Ping>());
  CHECK_THROWS_WITH_AS(stack.init(),
                       doctest::Contains("PING: needs a transport that supports multicast (UDP), "
                                         "not TCP"),
                       std::invalid_argument);
}

TEST_CASE("stock config: udp.xml builds the full membership stack") {
  register_builtin_protocols();
  register_discovery_protocols();
  auto dir = std::filesystem::path(cohort::test::source_dir()) / "config";
  auto stack =
      build_stack(load_config_file((dir / "udp.xml").string()), std::make_shared<NullRuntime>());
  std::vector<std::string> names;
  for (auto& p : stack->protocols())
    names.push_back(p->name());
  CHECK(names == std::vector<std::string>{"UDP", "PING", "MERGE", "FD_ALL", "VERIFY_SUSPECT",
                                          "NAKACK", "UNICAST", "GMS", "FRAG"});
}
