// TCP + TCPPING: members on 127.0.0.1 find each other, agree on views, and exchange messages.
// The first member listens on a port from the kernel; the others list only it in initial_hosts
// and find each other through its answers (gossip), so no fixed ports are needed.
#include <doctest/doctest.h>

#include <filesystem>

#include "config/null_runtime.hpp"
#include "config/stack_builder.hpp"
#include "discovery/register.hpp"
#include "discovery/tcpping.hpp"
#include "protocols/builtin.hpp"
#include "protocols/tcp_test_util.hpp"
#include "source_dir.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

std::vector<std::unique_ptr<Protocol>> tcp_tcpping(const std::string& initial_hosts,
                                                   std::map<std::string, std::string> ping = {}) {
  std::vector<std::unique_ptr<Protocol>> v;
  v.push_back(make_tcp());
  auto p = std::make_unique<Tcpping>();
  ping["initial_hosts"] = initial_hosts;
  if (!ping.contains("interval")) ping["interval"] = "200ms";
  if (!ping.contains("join_timeout")) ping["join_timeout"] = "300ms";
  if (!ping.contains("member_timeout")) ping["member_timeout"] = "3s";
  for (auto& [k, val] : ping)
    REQUIRE(p->set_attribute(k, val) == "");
  v.push_back(std::move(p));
  return v;
}

std::string physical_of(NetNode& n) {
  std::string p;
  n.ch->invoke([&] { p = n.tcp().physical_address(); });
  return p;
}

// Port 9 (discard) on loopback: nothing listens, connecting is refused at once.
constexpr const char* nobody = "127.0.0.1[9]";

bool same_view(std::vector<NetNode*> nodes, size_t size) {
  View first = nodes.front()->last_view();
  if (first.size() != size) return false;
  for (auto* n : nodes)
    if (n->last_view().members() != first.members()) return false;
  return true;
}

}  // namespace

TEST_CASE("TCPPING: parse_initial_hosts") {
  CHECK(parse_initial_hosts("127.0.0.1[7800],127.0.0.1[7801]", 0) ==
        std::vector<std::string>{"127.0.0.1:7800", "127.0.0.1:7801"});
  CHECK(parse_initial_hosts(" localhost:7800 , 10.0.0.1[9000]", 1) ==
        std::vector<std::string>{"127.0.0.1:7800", "127.0.0.1:7801", "10.0.0.1:9000",
                                 "10.0.0.1:9001"});
  CHECK(parse_initial_hosts("[::1]:7800", 0) == std::vector<std::string>{"[::1]:7800"});
  CHECK_THROWS_WITH_AS(parse_initial_hosts("127.0.0.1", 0),
                       "initial_hosts: '127.0.0.1' is not host[port] or host:port",
                       std::invalid_argument);
  CHECK_THROWS_AS(parse_initial_hosts("example.com[7800]", 0), std::invalid_argument);
  CHECK_THROWS_AS(parse_initial_hosts("127.0.0.1[70000]", 0), std::invalid_argument);
  CHECK_THROWS_AS(parse_initial_hosts("127.0.0.1[7800]", -1), std::invalid_argument);
}

TEST_CASE("TCPPING: three members converge on one view and exchange messages") {
  std::string cluster = unique_net_cluster("tcpping");
  NetNode a, b, c;
  a.open("A", tcp_tcpping(nobody));
  a.ch->connect(cluster);
  std::string seed = physical_of(a);
  // A must have finished joining (rank 1) before B and C start, or all three may share rank 1.
  REQUIRE(eventually([&] {
    uint64_t rank = 0;
    a.ch->invoke([&] { rank = a.ch->stack().find<Tcpping>()->join_rank(); });
    return rank == 1;
  }));
  b.open("B", tcp_tcpping(seed));
  c.open("C", tcp_tcpping(seed));
  b.ch->connect(cluster);
  c.ch->connect(cluster);

  REQUIRE(eventually([&] { return same_view({&a, &b, &c}, 3); }));
  // A joined first (alone, rank 1); B and C joined later (rank 2, ordered by address).
  CHECK(a.last_view().coordinator() == a.ch->address());

  a.ch->send(c.ch->address(), Buffer::copy_of(std::string_view("A to C")));
  b.ch->send(Address(), Buffer::copy_of(std::string_view("B to all")));
  CHECK(eventually([&] { return c.count_of("A to C") == 1; }));
  for (auto* n : {&a, &b, &c})
    CHECK(eventually([&] { return n->count_of("B to all") == 1; }));
  // Discovery's own messages never reach the application.
  CHECK(a.received == 1);

  // One connection per pair.
  CHECK(eventually([&] {
    return a.open_connections() == 2 && b.open_connections() == 2 && c.open_connections() == 2;
  }));

  // find_members answers with the view's members.
  std::vector<Address> found;
  b.ch->invoke([&] {
    Event ev(event::find_members);
    found = std::any_cast<std::vector<Address>>(b.ch->stack().down(ev));
  });
  CHECK(found == b.last_view().members());

  SUBCASE("a member that leaves is removed at once (leave message)") {
    Address gone = b.ch->address();
    b.ch->close();
    CHECK(eventually([&] { return same_view({&a, &c}, 2); }, std::chrono::milliseconds(2500)));
    CHECK(!a.last_view().contains(gone));
  }
}

TEST_CASE("TCPPING: members started together agree on the order (join rank, then address)") {
  std::string cluster = unique_net_cluster("tcpping-together");
  NetNode a;
  a.open("A", tcp_tcpping(nobody, {{"join_timeout", "1s"}}));
  std::string seed = physical_of(a);
  std::vector<std::unique_ptr<NetNode>> others;
  for (int i = 0; i < 4; ++i) {
    others.push_back(std::make_unique<NetNode>());
    others.back()->open("N" + std::to_string(i), tcp_tcpping(seed, {{"join_timeout", "1s"}}));
  }
  a.ch->connect(cluster);
  for (auto& n : others)
    n->ch->connect(cluster);
  std::vector<NetNode*> all{&a};
  for (auto& n : others)
    all.push_back(n.get());
  REQUIRE(eventually([&] { return same_view(all, 5); }));
  // The view is ordered by (join rank, address): equal ranks (joined within join_timeout of each
  // other) are sorted by address.
  std::vector<std::pair<uint64_t, Address>> ranked;
  for (auto* n : all) {
    uint64_t rank = 0;
    n->ch->invoke([&] { rank = n->ch->stack().find<Tcpping>()->join_rank(); });
    CHECK(rank > 0);
    ranked.emplace_back(rank, n->ch->address());
  }
  std::sort(ranked.begin(), ranked.end());
  std::vector<Address> expected;
  for (auto& [rank, address] : ranked)
    expected.push_back(address);
  CHECK(a.last_view().members() == expected);
}

TEST_CASE("TCPPING: views=false leaves views to GMS but still finds members") {
  std::string cluster = unique_net_cluster("tcpping-noviews");
  NetNode a, b;
  a.open("A", tcp_tcpping(nobody, {{"views", "false"}}));
  a.ch->connect(cluster);
  b.open("B", tcp_tcpping(physical_of(a), {{"views", "false"}}));
  b.ch->connect(cluster);
  auto found_by = [](NetNode& n) {
    std::vector<Address> found;
    n.ch->invoke([&] {
      Event ev(event::find_members);
      found = std::any_cast<std::vector<Address>>(n.ch->stack().down(ev));
    });
    return found.size();
  };
  CHECK(eventually([&] { return found_by(a) == 2 && found_by(b) == 2; }));
  CHECK(a.last_view().empty());
  CHECK(b.last_view().empty());
}

TEST_CASE("TCPPING: configuration errors name the attribute") {
  auto error_of = [](std::map<std::string, std::string> attrs) -> std::string {
    Tcpping p;
    for (auto& [k, v] : attrs)
      if (auto e = p.set_attribute(k, v); !e.empty()) return k + ": " + e;
    try {
      p.init();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of({{"initial_hosts", "nonsense"}}).starts_with("initial_hosts:"));
  CHECK(error_of({{"initial_hosts", ","}}).starts_with("initial_hosts:"));
  CHECK(error_of({{"initial_hosts", "127.0.0.1[7800]"}, {"member_timeout", "500ms"}})
            .starts_with("member_timeout:"));
  CHECK(error_of({{"initial_hosts", "127.0.0.1[7800]"}}) == "");
}

TEST_CASE("stock config: tcp.xml and tcp-file.xml build") {
  register_builtin_protocols();
  register_discovery_protocols();
  auto dir = std::filesystem::path(cohort::test::source_dir()) / "config";
  for (const char* name : {"tcp.xml", "tcp-file.xml"}) {
    CAPTURE(name);
    auto stack =
        build_stack(load_config_file((dir / name).string()), std::make_shared<NullRuntime>());
    CHECK(stack->bottom()->name() == "TCP");
  }
}
