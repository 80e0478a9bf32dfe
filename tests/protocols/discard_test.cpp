// DISCARD over LOOPBACK: drops by probability (1 = everything), by member name and everything
// (discard_all), each switchable at run time. "Nothing arrived" is checked without waiting for
// time to pass: after a dropped message, a marker from the same sender is let through, and
// LOOPBACK delivers one sender's messages in order.
#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>

#include "protocols/discard.hpp"
#include "tests/protocols/channel_util.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

struct Pair {
  std::string cluster = unique_cluster("discard");
  Inbox ia, ib;  // declared first: they must outlive the channels whose loops write to them
  std::unique_ptr<Channel> a, b;
  Discard* da = nullptr;
  Discard* db = nullptr;

  // DISCARD on both members; `setup` configures A's before init.
  explicit Pair(std::function<void(Discard&)> setup_a = {}) {
    auto pa = std::make_unique<Discard>();
    da = pa.get();
    if (setup_a) setup_a(*pa);
    a = std::make_unique<Channel>(make_stack(protocols(std::move(pa))));
    auto pb = std::make_unique<Discard>();
    db = pb.get();
    b = std::make_unique<Channel>(make_stack(protocols(std::move(pb))));
    a->set_name("A");
    b->set_name("B");
    ia.attach(*a);
    ib.attach(*b);
    a->connect(cluster);
    b->connect(cluster);
    REQUIRE(ia.wait_view_size(2));
    REQUIRE(ib.wait_view_size(2));
  }
  void set(Channel& ch, Discard& d, const char* name, const char* value) {
    ch.invoke([&] { CHECK(d.set_attribute(name, value) == ""); });
  }
};

}  // namespace

TEST_CASE("discard: down=1 drops every message A sends, unicast and group, until turned off") {
  Pair p([](Discard& d) { CHECK(d.set_attribute("down", "1") == ""); });
  p.a->send(p.b->address(), Buffer::copy_of("u1"));
  p.a->send(Address(), Buffer::copy_of("g1"));
  p.set(*p.a, *p.da, "down", "0");
  p.a->send(p.b->address(), Buffer::copy_of("u2"));
  p.a->send(Address(), Buffer::copy_of("g2"));
  REQUIRE(p.ib.wait_messages(2));
  REQUIRE(p.ia.wait_messages(1));
  CHECK(p.ib.payloads() == std::vector<std::string>{"u2", "g2"});
  CHECK(p.ia.payloads() == std::vector<std::string>{"g2"});
  std::vector<uint64_t> dropped;
  p.a->invoke([&] { dropped = {p.da->stat("dropped_down"), p.da->stat("dropped_up")}; });
  CHECK(dropped == std::vector<uint64_t>{2, 0});
}

TEST_CASE("discard: up=1 on B drops what B receives, switched on and off at run time") {
  Pair p;
  p.set(*p.b, *p.db, "up", "1");
  p.a->send(p.b->address(), Buffer::copy_of("lost"));
  p.b->invoke([] {});
  p.a->invoke([] {});
  // The drop happens on B's loop when A's message arrives; the marker shows it has.
  p.a->send(Address(), Buffer::copy_of("marker"));
  REQUIRE(p.ia.wait_messages(1));
  p.b->invoke([] {});
  p.set(*p.b, *p.db, "up", "0");
  p.a->send(p.b->address(), Buffer::copy_of("kept"));
  REQUIRE(p.ib.wait_messages(1));
  CHECK(p.ib.payloads() == std::vector<std::string>{"kept"});
  uint64_t dropped = 0;
  p.b->invoke([&] { dropped = p.db->stat("dropped_up"); });
  CHECK(dropped == 2);  // "lost" and "marker"
}

TEST_CASE("discard: by member name drops traffic to and from that member only") {
  Pair p;
  p.a->invoke([&] { p.da->drop_member("B"); });
  p.a->send(p.b->address(), Buffer::copy_of("to B"));  // dropped going down at A
  p.b->send(Address(), Buffer::copy_of("from B"));     // dropped going up at A, kept at B
  REQUIRE(p.ib.wait_messages(1));
  CHECK(p.ib.payloads() == std::vector<std::string>{"from B"});
  p.a->send(Address(), Buffer::copy_of("from A"));  // a group message is not "to B": kept
  REQUIRE(p.ia.wait_messages(1));
  REQUIRE(p.ib.wait_messages(2));
  p.b->send(p.a->address(), Buffer::copy_of("B again"));  // dropped at A
  p.b->invoke([] {});
  p.a->invoke([&] { p.da->clear_members(); });
  p.b->send(p.a->address(), Buffer::copy_of("after clear"));
  REQUIRE(p.ia.wait_messages(2));
  CHECK(p.ia.payloads() == std::vector<std::string>{"from A", "after clear"});
  CHECK(p.ib.payloads() == std::vector<std::string>{"from B", "from A"});
}

TEST_CASE("discard: the members attribute names members at start") {
  Pair p([](Discard& d) { CHECK(d.set_attribute("members", "X,B") == ""); });
  p.b->send(p.a->address(), Buffer::copy_of("dropped"));
  p.a->send(Address(), Buffer::copy_of("marker"));
  REQUIRE(p.ia.wait_messages(1));
  p.b->send(Address(), Buffer::copy_of("dropped too"));
  p.b->invoke([] {});
  REQUIRE(p.ib.wait_messages(2));  // "marker" and B's own group message
  p.a->invoke([] {});
  CHECK(p.ia.payloads() == std::vector<std::string>{"marker"});
}

TEST_CASE("discard: discard_all cuts a member off, and back on") {
  Pair p;
  p.a->invoke([&] { p.da->set_discard_all(true); });
  p.b->send(Address(), Buffer::copy_of("b1"));
  p.a->send(p.b->address(), Buffer::copy_of("a1"));
  REQUIRE(p.ib.wait_messages(1));
  p.a->invoke([&] { p.da->set_discard_all(false); });
  p.b->send(Address(), Buffer::copy_of("b2"));
  p.a->send(p.b->address(), Buffer::copy_of("a2"));
  REQUIRE(p.ia.wait_messages(1));
  REQUIRE(p.ib.wait_messages(3));
  CHECK(p.ia.payloads() == std::vector<std::string>{"b2"});
  auto at_b = p.ib.payloads();  // b2 and a2 come from different senders: any order
  std::sort(at_b.begin() + 1, at_b.end());
  CHECK(at_b == std::vector<std::string>{"b1", "a2", "b2"});
}

TEST_CASE("discard: probabilities outside [0, 1] are refused at init") {
  ProtocolStack s(std::make_shared<AsioRuntime>(1));
  s.add(std::make_unique<Loopback>());
  auto d = std::make_unique<Discard>();
  CHECK(d->set_attribute("up", "1.5") == "");
  s.add(std::move(d));
  CHECK_THROWS_WITH_AS(s.init(), "up: must be between 0 and 1", std::invalid_argument);
}
