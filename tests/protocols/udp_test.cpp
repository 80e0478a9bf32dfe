// UDP transport over 127.0.0.1: unicast datagrams and IP multicast on the loopback interface
// (skipped, saying so, where the kernel refuses multicast). Members are told about each other
// directly (event::add_physical_address), as discovery would; tests/discovery/ping_test.cpp
// covers PING. Ports come from the kernel; multicast ports are per test process.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <random>

#include "config/null_runtime.hpp"
#include "protocols/frag.hpp"
#include "protocols/physical_address.hpp"
#include "protocols/tcp_test_util.hpp"
#include "protocols/udp_test_util.hpp"
#include "stack/frame.hpp"

using namespace cohort;
using namespace cohort::test;
namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr const char* group = "228.8.8.9";

std::string cluster_name(const std::string& prefix) {
  return unique_net_cluster(prefix + "-" + std::to_string(::getpid()));
}

std::vector<std::unique_ptr<Protocol>> udp_stack(int mcast_offset,
                                                 std::map<std::string, std::string> attrs = {},
                                                 bool with_frag = false) {
  std::vector<std::unique_ptr<Protocol>> v;
  attrs["mcast_addr"] = group;
  attrs["mcast_port"] = std::to_string(test_mcast_port(mcast_offset));
  v.push_back(make_udp(std::move(attrs)));
  if (with_frag) {
    auto f = std::make_unique<Frag>();
    REQUIRE(f->set_attribute("frag_size", "30000") == "");
    v.push_back(std::move(f));
  }
  return v;
}

Udp& udp_of(NetNode& n) {
  return *n.ch->stack().find<Udp>();
}

std::string physical_of(NetNode& n) {
  std::string p;
  n.ch->invoke([&] { p = udp_of(n).physical_address(); });
  return p;
}

void introduce(std::vector<NetNode*> nodes) {
  for (auto* n : nodes)
    for (auto* other : nodes) {
      if (n == other) continue;
      std::string p = physical_of(*other);
      Address a = other->ch->address();
      n->ch->invoke([&] {
        Event ev(event::add_physical_address, std::pair<Address, std::string>(a, p));
        n->ch->stack().down(ev);
      });
    }
}

Buffer text(const std::string& s) {
  return Buffer::copy_of(std::string_view(s));
}

}  // namespace

TEST_CASE("UDP: unicast and multicast messages between three members") {
  COHORT_REQUIRE_MULTICAST(group, static_cast<uint16_t>(test_mcast_port(0)));
  std::string cluster = cluster_name("udp");
  NetNode a, b, c;
  a.open("A", udp_stack(0));
  b.open("B", udp_stack(0));
  c.open("C", udp_stack(0));
  for (auto* n : {&a, &b, &c})
    n->ch->connect(cluster);
  introduce({&a, &b, &c});

  a.ch->send(c.ch->address(), text("A to C"));
  b.ch->send(Address(), text("B to all"));
  c.ch->send(c.ch->address(), text("C to itself"));
  CHECK(eventually([&] { return c.count_of("A to C") == 1; }));
  CHECK(eventually([&] { return c.count_of("C to itself") == 1; }));
  for (auto* n : {&a, &b, &c})
    CHECK(eventually([&] { return n->count_of("B to all") == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK(a.received == 1);  // B's multicast only; nothing twice (own multicast not looped back)
  CHECK(b.received == 1);
  CHECK(c.received == 3);
  CHECK(b.stat("UDP", "multicasts_sent") == 1);
  CHECK(a.stat("UDP", "malformed") == 0);

  SUBCASE("a member learns where an unknown sender is from its datagrams") {
    NetNode d;
    d.open("D", udp_stack(0));
    d.ch->connect(cluster);
    d.ch->send(Address(), text("D to all"));
    CHECK(eventually([&] { return a.count_of("D to all") == 1; }));
    a.ch->send(d.ch->address(), text("A to D"));
    CHECK(eventually([&] { return d.count_of("A to D") == 1; }));
  }
}

TEST_CASE("UDP: a burst is bundled into few datagrams, a lone message is sent at once") {
  std::string cluster = cluster_name("udp-bundle");
  NetNode a, b;
  a.open("A", udp_stack(1));
  b.open("B", udp_stack(1));
  a.ch->connect(cluster);
  b.ch->connect(cluster);
  introduce({&a, &b});

  a.ch->send(b.ch->address(), text("lone"));
  CHECK(eventually([&] { return b.count_of("lone") == 1; }));
  CHECK(a.stat("UDP", "datagrams_sent") == 1);
  CHECK(a.stat("UDP", "bundled_msgs") == 0);

  // 500 messages sent in one loop turn: the first goes alone, the rest share datagrams.
  Address dest = b.ch->address();
  a.ch->invoke([&] {
    for (int i = 0; i < 500; ++i) {
      Message m(dest, text("burst " + std::to_string(i)));
      a.ch->stack().down(m);
    }
  });
  CHECK(eventually([&] { return b.received == 501; }));
  uint64_t datagrams = a.stat("UDP", "datagrams_sent") - 1;
  CHECK(datagrams < 10);
  CHECK(a.stat("UDP", "bundled_msgs") == 499);
  CHECK(b.stat("UDP", "datagrams_received") == datagrams + 1);
  CHECK(b.stat("UDP", "batches_received") == datagrams + 1);  // one batch per datagram
  // In order, since one socket sends them in order on loopback.
  std::lock_guard lock(b.mu);
  for (int i = 0; i < 500; ++i)
    CHECK(b.payloads[static_cast<size_t>(i) + 1] == "burst " + std::to_string(i));
}

TEST_CASE("UDP: hostile datagrams are counted as malformed and dropped, the node keeps working") {
  COHORT_REQUIRE_MULTICAST(group, static_cast<uint16_t>(test_mcast_port(2)));
  std::string cluster = cluster_name("udp-hostile");
  NetNode a, b;
  a.open("A", udp_stack(2));
  b.open("B", udp_stack(2));
  a.ch->connect(cluster);
  b.ch->connect(cluster);
  introduce({&a, &b});

  // A valid frame to truncate.
  codec::Writer w;
  Message m(Address(), text("a valid message"));
  std::mt19937_64 rng(3);
  encode_frame(w, cluster, Address::random(rng, "X"), Address(), std::span(&m, 1));
  std::vector<uint8_t> valid = w.take();

  asio::io_context io;
  udp::socket s(io, udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
  auto to_a = *physical::parse<udp::endpoint>(physical_of(a));
  udp::endpoint to_group(asio::ip::make_address_v4(group),
                         static_cast<uint16_t>(test_mcast_port(2)));
  s.set_option(asio::ip::multicast::outbound_interface(asio::ip::make_address_v4("127.0.0.1")));
  int sent = 0;
  auto send = [&](const std::vector<uint8_t>& bytes, const udp::endpoint& ep) {
    s.send_to(asio::buffer(bytes), ep);
    ++sent;
  };
  send({}, to_a);                  // empty
  send({0x43, 0x48, 0x01}, to_a);  // magic and version only
  for (size_t cut = 1; cut < valid.size(); cut += 7)
    send(std::vector<uint8_t>(valid.begin(), valid.begin() + static_cast<long>(cut)), to_a);
  for (int i = 0; i < 50; ++i) {  // random bytes, some starting with the magic
    std::vector<uint8_t> junk(1 + rng() % 2000);
    for (auto& x : junk)
      x = static_cast<uint8_t>(rng());
    if (i % 2) junk[0] = 0x43, junk[1 % junk.size()] = 0x48;
    send(junk, i % 5 == 0 ? to_group : to_a);
  }
  int to_group_count = 10;
  CHECK(eventually([&] { return a.stat("UDP", "malformed") == static_cast<uint64_t>(sent); }));
  CHECK(eventually(
      [&] { return b.stat("UDP", "malformed") == static_cast<uint64_t>(to_group_count); }));

  // A well-formed frame of another cluster: dropped, counted apart.
  codec::Writer other;
  encode_frame(other, "another-cluster", Address::random(rng, "Y"), Address(), std::span(&m, 1));
  send(other.take(), to_a);
  CHECK(eventually([&] { return a.stat("UDP", "wrong_cluster") == 1; }));
  CHECK(a.received == 0);

  // Still working.
  b.ch->send(a.ch->address(), text("still here"));
  b.ch->send(Address(), text("still here, all"));
  CHECK(eventually([&] { return a.count_of("still here") == 1; }));
  CHECK(eventually([&] { return a.count_of("still here, all") == 1; }));
}

TEST_CASE("UDP: a message larger than a datagram is dropped and counted, FRAG above carries it") {
  std::string cluster = cluster_name("udp-big");
  NetNode a, b;
  a.open("A", udp_stack(3));
  b.open("B", udp_stack(3));
  a.ch->connect(cluster);
  b.ch->connect(cluster);
  introduce({&a, &b});
  a.ch->send(b.ch->address(), Buffer::copy_of(std::string(70000, 'x')));
  a.ch->send(b.ch->address(), Buffer::copy_of(std::string(60 * 1024, 'y')));
  CHECK(eventually([&] { return b.count_of(std::string(60 * 1024, 'y')) == 1; }));
  CHECK(a.stat("UDP", "too_big") == 1);
  CHECK(a.stat("UDP", "dropped") == 1);
  CHECK(b.received == 1);

  NetNode c, d;
  c.open("C", udp_stack(3, {}, true));
  d.open("D", udp_stack(3, {}, true));
  c.ch->connect(cluster + "-frag");
  d.ch->connect(cluster + "-frag");
  introduce({&c, &d});
  std::string big(200 * 1000, 'z');
  big[12345] = 'q';
  c.ch->send(d.ch->address(), Buffer::copy_of(big));
  CHECK(eventually([&] { return d.count_of(big) == 1; }));
  CHECK(c.stat("UDP", "too_big") == 0);
  CHECK(c.stat("FRAG", "fragments_sent") == 7);
}

TEST_CASE("UDP: configuration errors name the attribute") {
  auto init_error = [](std::map<std::string, std::string> attrs) -> std::string {
    ProtocolStack stack(std::make_shared<NullRuntime>());
    try {
      stack.add(make_udp(std::move(attrs)));
      stack.init();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  CHECK(init_error({}) == "");
  CHECK(init_error({{"mcast_addr", "10.0.0.1"}}) ==
        "mcast_addr: '10.0.0.1' is not an IPv4 multicast address");
  CHECK(init_error({{"bind_addr", "0.0.0.0"}}).starts_with("bind_addr: must be a concrete"));
  CHECK(init_error({{"bind_addr", "::1"}}).starts_with("bind_addr: '::1' is not an IPv4"));
  CHECK(init_error({{"max_bundle_size", "70KB"}}).starts_with("max_bundle_size:"));
  CHECK(init_error({{"mcast_port", "0"}}).starts_with("mcast_port:"));
  CHECK(init_error({{"ip_ttl", "300"}}).starts_with("ip_ttl:"));
  CHECK(init_error({{"ucast_recv_buf_size", "2GB"}}).starts_with("ucast_recv_buf_size:"));

  // A taken port (with AsioRuntime, sockets are bound in init).
  NetNode a;
  a.open("A", udp_stack(4));
  auto ep = *physical::parse<udp::endpoint>(physical_of(a));
  auto rt = std::make_shared<AsioRuntime>(1, "udp-cfg");
  ProtocolStack stack(rt);
  stack.add(make_udp({{"bind_port", std::to_string(ep.port())},
                      {"mcast_addr", group},
                      {"mcast_port", std::to_string(test_mcast_port(4))}}));
  CHECK_THROWS_WITH_AS(
      stack.init(),
      doctest::Contains(
          fmt::format("bind_port: cannot bind UDP 127.0.0.1 port {}", ep.port()).c_str()),
      std::invalid_argument);
  rt->shutdown();
}
