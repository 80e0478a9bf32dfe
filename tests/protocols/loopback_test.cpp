// LOOPBACK: in-process discovery, counters, inbox limit, batches, and zero copy through a
// 10-protocol stack.
#include <doctest/doctest.h>

#include <future>
#include <set>

#include "protocols/delay.hpp"
#include "protocols/discard.hpp"
#include "tests/protocols/channel_util.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

// Records, for every batch passing up, whether all its messages share the batch's source.
class BatchInspector : public Protocol {
 public:
  BatchInspector() : Protocol("INSPECT") {}
  using Protocol::up;
  void up(MessageBatch& b) override {
    ++batches;
    for (auto& m : b.messages) {
      if (m.src() != b.src) ++foreign;
      if (m.is_group() != b.dest.is_null() || (!m.is_group() && m.dest() != b.dest)) ++foreign;
    }
    Protocol::up(b);
  }
  int batches = 0;
  int foreign = 0;  // messages whose source or destination differs from their batch's
};

std::vector<std::unique_ptr<Protocol>> nine_pass_throughs() {
  std::vector<std::unique_ptr<Protocol>> v;
  v.push_back(std::make_unique<Discard>());
  v.push_back(std::make_unique<Delay>());
  for (int i = 0; i < 7; ++i)
    v.push_back(std::make_unique<PassThrough>("PASS" + std::to_string(i)));
  return v;
}

}  // namespace

TEST_CASE("loopback: find_members lists the cluster in join order") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ib;
  std::string cluster = unique_cluster("find");
  auto a = make_channel("A");
  auto b = make_channel("B");
  ib.attach(*b);
  a->connect(cluster);
  b->connect(cluster);
  REQUIRE(ib.wait_view_size(2));
  std::vector<Address> found;
  b->invoke([&] {
    Event ev(event::find_members);
    found = std::any_cast<std::vector<Address>>(b->stack().down(ev));
  });
  CHECK(found == std::vector<Address>{a->address(), b->address()});
  Address local;
  a->invoke([&] {
    Event ev(event::local_address);
    local = std::any_cast<Address>(a->stack().down(ev));
  });
  CHECK(local == a->address());
}

TEST_CASE("loopback: counters count messages and payload bytes both ways") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ib;
  std::string cluster = unique_cluster("counters");
  auto a = make_channel("A");
  auto b = make_channel("B");
  ib.attach(*b);
  a->connect(cluster);
  b->connect(cluster);
  REQUIRE(ib.wait_view_size(2));
  for (int i = 0; i < 5; ++i)
    a->send(b->address(), Buffer::copy_of("12345"));
  REQUIRE(ib.wait_messages(5));
  uint64_t sent = 0, bytes = 0, received = 0, rbytes = 0, batches = 0;
  a->invoke([&] {
    sent = a->stack().bottom()->stat("msgs_sent");
    bytes = a->stack().bottom()->stat("bytes_sent");
  });
  b->invoke([&] {
    received = b->stack().bottom()->stat("msgs_received");
    rbytes = b->stack().bottom()->stat("bytes_received");
    batches = b->stack().bottom()->stat("batches_received");
  });
  CHECK(sent == 5);
  CHECK(bytes == 25);
  CHECK(received == 5);
  CHECK(rbytes == 25);
  CHECK(batches >= 1);
  CHECK(batches <= 5);
}

TEST_CASE("loopback: a message to an unknown member is counted as dropped") {
  auto a = make_channel("A");
  a->connect(unique_cluster("unknown"));
  a->send(Address(9, 9, "ghost"), Buffer::copy_of("x"));
  uint64_t dropped = 0;
  a->invoke([&] { dropped = a->stack().bottom()->stat("dropped"); });
  CHECK(dropped == 1);
}

TEST_CASE("loopback: a full inbox drops further sends and counts them") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ib;
  std::string cluster = unique_cluster("inbox");
  auto a = make_channel("A");
  auto stack_b = make_stack();
  CHECK(stack_b->bottom()->set_attribute("max_inbox", "10") == "");
  auto b = std::make_unique<Channel>(std::move(stack_b));
  b->set_name("B");
  ib.attach(*b);
  a->connect(cluster);
  b->connect(cluster);
  REQUIRE(ib.wait_view_size(2));

  // Hold B's loop so nothing is drained while A sends 15 messages.
  std::promise<void> release;
  std::promise<void> held;
  auto release_f = release.get_future().share();
  b->runtime().post([&held, release_f] {
    held.set_value();
    release_f.wait();
  });
  held.get_future().wait();
  a->invoke([&] {
    for (int i = 0; i < 15; ++i) {
      Message m(b->address(), Buffer::copy_of(std::to_string(i)));
      a->stack().down(m);
    }
  });
  release.set_value();
  REQUIRE(ib.wait_messages(10));
  b->invoke([] {});
  CHECK(ib.messages().size() == 10);
  uint64_t dropped = 0;
  a->invoke([&] { dropped = a->stack().bottom()->stat("dropped"); });
  CHECK(dropped == 5);
}

TEST_CASE("loopback: messages queued together arrive as batches of one source and destination") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ic;
  std::string cluster = unique_cluster("batch");
  auto a = make_channel("A");
  auto b = make_channel("B");
  auto inspector = std::make_unique<BatchInspector>();
  BatchInspector* insp = inspector.get();
  auto c = make_channel("C", protocols(std::move(inspector)));
  ic.attach(*c);
  a->connect(cluster);
  b->connect(cluster);
  c->connect(cluster);
  REQUIRE(ic.wait_view_size(3));

  // Hold C's loop while A and B both send to it, unicast and group, so its inbox mixes sources.
  std::promise<void> release, held;
  auto release_f = release.get_future().share();
  c->runtime().post([&held, release_f] {
    held.set_value();
    release_f.wait();
  });
  held.get_future().wait();
  for (int i = 0; i < 4; ++i) {
    a->send(c->address(), Buffer::copy_of("a"));
    a->send(Address(), Buffer::copy_of("ag"));
    b->send(c->address(), Buffer::copy_of("b"));
  }
  a->invoke([] {});
  b->invoke([] {});
  release.set_value();
  REQUIRE(ic.wait_messages(12));
  int batches = 0, foreign = 0;
  c->invoke([&] {
    batches = insp->batches;
    foreign = insp->foreign;
  });
  CHECK(foreign == 0);
  CHECK(batches >= 2);
  CHECK(batches <= 12);
}

TEST_CASE("loopback: a payload crosses LOOPBACK + 9 protocols both ways without a copy") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ia, ib;
  std::string cluster = unique_cluster("zerocopy");
  auto a = make_channel("A", nine_pass_throughs());
  auto b = make_channel("B", nine_pass_throughs());
  REQUIRE(a->stack().protocols().size() == 10);
  ia.attach(*a);
  ib.attach(*b);
  a->connect(cluster);
  b->connect(cluster);
  REQUIRE(ib.wait_view_size(2));

  Buffer unicast = Buffer::copy_of(std::string(1024, 'u'));
  Buffer group = Buffer::copy_of(std::string(65536, 'g'));
  a->send(b->address(), unicast);
  a->send(Address(), group);
  REQUIRE(ib.wait_messages(2));
  REQUIRE(ia.wait_messages(1));
  auto at_b = ib.messages();
  CHECK(at_b[0].payload().storage() == unicast.storage());
  CHECK(at_b[0].payload().data() == unicast.data());
  CHECK(at_b[1].payload().storage() == group.storage());
  CHECK(ia.messages()[0].payload().storage() == group.storage());
}
