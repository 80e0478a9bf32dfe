// ProtocolStack: validation, lookup, lifecycle order, message and event flow, and inserting and
// removing protocols at run time.
#include <doctest/doctest.h>

#include <memory>
#include <stdexcept>

#include "stack/protocol_stack.hpp"
#include "tests/stack/stack_test_util.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

struct Fixture {
  std::shared_ptr<ManualRuntime> rt = std::make_shared<ManualRuntime>();
  Journal journal;
  ProtocolStack stack{rt};
  Sink sink;
  RecordingTransport* tp = nullptr;
  Counting* a = nullptr;
  Counting* b = nullptr;

  Fixture() {
    auto t = std::make_unique<RecordingTransport>(&journal);
    tp = t.get();
    stack.add(std::move(t));
    auto pa = std::make_unique<Counting>("A", &journal);
    a = pa.get();
    stack.add(std::move(pa));
    auto pb = std::make_unique<Counting>("B", &journal);
    b = pb.get();
    stack.add(std::move(pb));
    stack.set_top(&sink);
    stack.init();
  }

  // Checks that up/down pointers form one chain: bottom → ... → top → sink.
  void check_links() {
    auto& ps = stack.protocols();
    for (size_t i = 0; i < ps.size(); ++i) {
      CAPTURE(ps[i]->name());
      CHECK(ps[i]->down_protocol() == (i == 0 ? nullptr : ps[i - 1].get()));
      CHECK(ps[i]->up_protocol() == (i + 1 < ps.size() ? ps[i + 1].get() : &sink));
    }
    CHECK(sink.down_protocol() == ps.back().get());
  }
  // Sends one message down and one up; returns true if both went all the way.
  bool flows() {
    size_t sent = tp->sent.size(), received = sink.received.size();
    Message down(Address(), Buffer::copy_of("down"));
    stack.down(down);
    tp->inject(Message(Address(), Buffer::copy_of("up")));
    return tp->sent.size() == sent + 1 && sink.received.size() == received + 1;
  }
};

}  // namespace

TEST_CASE("protocol stack: init rejects an empty stack and misplaced transports") {
  auto rt = std::make_shared<ManualRuntime>();
  {
    ProtocolStack s(rt);
    CHECK_THROWS_WITH_AS(s.init(), "the stack has no protocols", std::invalid_argument);
  }
  {
    ProtocolStack s(rt);
    s.add(std::make_unique<Counting>("A"));
    s.add(std::make_unique<RecordingTransport>());
    CHECK_THROWS_WITH_AS(s.init(),
                         "A is at the bottom of the stack, but the bottom must be a transport",
                         std::invalid_argument);
  }
  {
    ProtocolStack s(rt);
    s.add(std::make_unique<RecordingTransport>(nullptr, "TP1"));
    s.add(std::make_unique<Counting>("A"));
    s.add(std::make_unique<RecordingTransport>(nullptr, "TP2"));
    CHECK_THROWS_WITH_AS(s.init(), "transport TP2 must be at the bottom of the stack",
                         std::invalid_argument);
  }
}

TEST_CASE("protocol stack: add after init is refused") {
  Fixture f;
  CHECK_THROWS_AS(f.stack.add(std::make_unique<Counting>("C")), std::logic_error);
}

TEST_CASE("protocol stack: find by name and by type, bottom and top") {
  Fixture f;
  CHECK(f.stack.find("A") == f.a);
  CHECK(f.stack.find("REC_TP") == f.tp);
  CHECK(f.stack.find("nope") == nullptr);
  CHECK(f.stack.find<RecordingTransport>() == f.tp);
  CHECK(f.stack.find<Counting>() == f.a);  // the lowest of that type
  CHECK(f.stack.find<Sink>() == nullptr);  // the sink is not part of the stack
  CHECK(f.stack.bottom() == f.tp);
  CHECK(f.stack.top_protocol() == f.b);
  CHECK(&f.a->stack() == &f.stack);
  CHECK(&f.a->runtime() == f.rt.get());
  CHECK(f.stack.protocols().size() == 3);
}

TEST_CASE("protocol stack: lifecycle runs init bottom-up, start and stop top-down") {
  Fixture f;
  CHECK(f.journal == Journal{"init REC_TP", "init A", "init B"});
  f.journal.clear();
  f.stack.start();
  CHECK(f.stack.running());
  CHECK(f.journal == Journal{"start B", "start A", "start REC_TP"});
  f.journal.clear();
  f.stack.stop();
  CHECK_FALSE(f.stack.running());
  CHECK(f.journal == Journal{"stop B", "stop A", "stop REC_TP"});
}

TEST_CASE("protocol stack: destruction stops a running stack and destroys every protocol") {
  Journal journal;
  {
    ProtocolStack s(std::make_shared<ManualRuntime>());
    s.add(std::make_unique<RecordingTransport>(&journal));
    s.add(std::make_unique<Counting>("A", &journal));
    s.init();
    s.start();
    journal.clear();
  }
  CHECK(journal == Journal{"stop A", "stop REC_TP", "destroy REC_TP", "destroy A"});
}

TEST_CASE("protocol stack: messages flow down and up through every layer") {
  Fixture f;
  f.check_links();
  CHECK(f.flows());
  CHECK(f.a->downs == 1);
  CHECK(f.b->downs == 1);
  CHECK(f.a->ups == 1);
  CHECK(f.b->ups == 1);
  CHECK(f.sink.received.back().payload().str() == "up");
  CHECK(f.tp->sent.back().payload().str() == "down");

  MessageBatch batch;
  batch.messages.resize(3);
  f.tp->inject(batch);
  CHECK(f.sink.batches == 1);
  CHECK(f.a->ups == 4);
  CHECK(f.tp->stat("batches_received") == 1);
  CHECK(f.tp->stat("msgs_received") == 4);
}

TEST_CASE("protocol stack: events reach the transport and the top") {
  Fixture f;
  Address me(1, 2, "me");
  Event set(event::set_local_address, me);
  f.stack.down(set);
  Event ask(event::local_address);
  CHECK(std::any_cast<Address>(f.stack.down(ask)) == me);
  Event conn(event::connect, std::string("cluster"));
  f.stack.down(conn);
  CHECK(f.tp->cluster() == "cluster");
  CHECK(f.tp->connects == 1);
  Event disc(event::disconnect);
  f.stack.down(disc);
  CHECK(f.tp->disconnects == 1);

  // A message sent without a source gets the local address at the transport.
  Message m(Address(3, 3, "C"), Buffer::copy_of("abc"));
  f.stack.down(m);
  CHECK(f.tp->sent.back().src() == me);
  CHECK(f.tp->stat("msgs_sent") == 1);
  CHECK(f.tp->stat("bytes_sent") == 3);

  Event up(event::suspect, Address(3, 3, "C"));
  f.a->up(up);
  CHECK(f.sink.events == std::vector<int>{event::suspect});
}

TEST_CASE("protocol stack: insert_above at run time relinks, messages still flow") {
  Fixture f;
  f.stack.start();
  f.journal.clear();
  auto c = std::make_unique<Counting>("C", &f.journal);
  Counting* cp = c.get();
  f.stack.insert_above(std::move(c), "A");
  CHECK(f.journal == Journal{"init C", "start C"});
  CHECK(f.stack.protocols()[2].get() == cp);
  CHECK(cp->down_protocol() == f.a);
  CHECK(cp->up_protocol() == f.b);
  CHECK(f.a->up_protocol() == cp);
  CHECK(f.b->down_protocol() == cp);
  f.check_links();
  CHECK(f.flows());
  CHECK(cp->downs == 1);
  CHECK(cp->ups == 1);
  CHECK(&cp->stack() == &f.stack);

  // On top, the new protocol links to the sink.
  auto d = std::make_unique<Counting>("D");
  Counting* dp = d.get();
  f.stack.insert_above(std::move(d), "B");
  CHECK(f.stack.top_protocol() == dp);
  CHECK(dp->up_protocol() == &f.sink);
  f.check_links();
  CHECK(f.flows());
  CHECK(dp->downs == 1);
}

TEST_CASE("protocol stack: insert_above refuses an unknown anchor and transports") {
  Fixture f;
  CHECK_THROWS_WITH_AS(f.stack.insert_above(std::make_unique<Counting>("C"), "nope"),
                       "no protocol nope in the stack", std::invalid_argument);
  CHECK_THROWS_AS(f.stack.insert_above(std::make_unique<RecordingTransport>(), "A"),
                  std::invalid_argument);
  CHECK(f.stack.protocols().size() == 3);
  f.check_links();
}

TEST_CASE("protocol stack: a protocol inserted before init is initialised once") {
  Journal journal;
  ProtocolStack s(std::make_shared<ManualRuntime>());
  s.add(std::make_unique<RecordingTransport>(&journal));
  s.insert_above(std::make_unique<Counting>("A", &journal), "REC_TP");
  s.init();
  CHECK(journal == Journal{"init REC_TP", "init A"});
}

TEST_CASE("protocol stack: remove at run time stops, unlinks and relinks") {
  Fixture f;
  f.stack.start();
  f.journal.clear();
  std::unique_ptr<Protocol> removed = f.stack.remove("A");
  REQUIRE(removed.get() == f.a);
  CHECK(f.journal == Journal{"stop A", "destroy A"});
  CHECK(removed->up_protocol() == nullptr);
  CHECK(removed->down_protocol() == nullptr);
  CHECK(f.stack.find("A") == nullptr);
  CHECK(f.b->down_protocol() == f.tp);
  CHECK(f.tp->up_protocol() == f.b);
  f.check_links();
  CHECK(f.flows());
  CHECK(f.a->downs == 0);  // bypassed
  CHECK(f.b->downs == 1);

  // Removing the top protocol links the sink to the one below.
  auto top = f.stack.remove("B");
  CHECK(top != nullptr);
  CHECK(f.sink.down_protocol() == f.tp);
  CHECK(f.tp->up_protocol() == &f.sink);
  CHECK(f.flows());

  CHECK(f.stack.remove("nope") == nullptr);
  CHECK_THROWS_AS(f.stack.remove("REC_TP"), std::invalid_argument);
}

TEST_CASE("protocol stack: describe lists every protocol bottom to top with its attributes") {
  class WithAttrs : public Protocol {
   public:
    WithAttrs() : Protocol("ATTRS") {
      declare("timeout", timeout, "a duration");
      declare_size("max", max, "a size");
    }
    std::chrono::nanoseconds timeout = std::chrono::seconds(3);
    uint64_t max = 65536;
  };
  ProtocolStack s(std::make_shared<ManualRuntime>());
  s.add(std::make_unique<RecordingTransport>());
  s.add(std::make_unique<WithAttrs>());
  s.init();
  CHECK(s.describe() == "REC_TP\nATTRS timeout=\"3s\" max=\"64KiB\"\n");
}
