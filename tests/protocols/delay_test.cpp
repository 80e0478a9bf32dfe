// DELAY over LOOPBACK: delayed messages still arrive, after at least the minimum delay (a lower
// bound is deterministic: a timer never fires early); zero delay passes straight through.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <future>
#include <stdexcept>

#include "protocols/delay.hpp"
#include "tests/protocols/channel_util.hpp"

using namespace cohort;
using namespace cohort::test;
using namespace std::chrono_literals;

namespace {

struct Stamped {
  std::unique_ptr<Channel> ch;
  Delay* delay = nullptr;
};

Stamped make(const std::string& name, std::function<void(Delay&)> setup) {
  auto d = std::make_unique<Delay>();
  Delay* raw = d.get();
  setup(*d);
  Stamped s{std::make_unique<Channel>(make_stack(protocols(std::move(d)))), raw};
  s.ch->set_name(name);
  return s;
}

}  // namespace

TEST_CASE("delay: out_delay holds messages going down for at least the minimum") {
  std::string cluster = unique_cluster("delay-out");
  auto a = make("A", [](Delay& d) {
    CHECK(d.set_attribute("out_delay_min", "30ms") == "");
    CHECK(d.set_attribute("out_delay_max", "40ms") == "");
  });
  std::promise<Duration> arrived;
  auto f = arrived.get_future();
  a.ch->on_message([&](Message&) { arrived.set_value(a.ch->runtime().now()); });
  a.ch->connect(cluster);
  Duration sent_at{};
  a.ch->invoke([&] {
    sent_at = a.ch->runtime().now();
    Message m(Address(), Buffer::copy_of("late"));
    a.ch->stack().down(m);
  });
  REQUIRE(f.wait_for(patience) == std::future_status::ready);
  CHECK(f.get() - sent_at >= 30ms);
  uint64_t delayed = 0;
  a.ch->invoke([&] { delayed = a.delay->stat("delayed"); });
  CHECK(delayed == 1);
}

TEST_CASE("delay: in_delay holds messages going up, zero delay passes straight on") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ib;
  std::string cluster = unique_cluster("delay-in");
  auto a = make("A", [](Delay&) {});
  auto b = make("B", [](Delay& d) {
    CHECK(d.set_attribute("in_delay_min", "20ms") == "");
    CHECK(d.set_attribute("in_delay_max", "20ms") == "");
  });
  ib.attach(*b.ch);
  a.ch->connect(cluster);
  b.ch->connect(cluster);
  REQUIRE(ib.wait_view_size(2));
  Duration start = b.ch->runtime().now();
  for (int i = 0; i < 10; ++i)
    a.ch->send(b.ch->address(), Buffer::copy_of(std::to_string(i)));
  REQUIRE(ib.wait_messages(10));
  CHECK(b.ch->runtime().now() - start >= 20ms);
  uint64_t delayed_a = 0, delayed_b = 0;
  a.ch->invoke([&] { delayed_a = a.delay->stat("delayed"); });
  b.ch->invoke([&] { delayed_b = b.delay->stat("delayed"); });
  CHECK(delayed_a == 0);
  CHECK(delayed_b == 10);
  auto p = ib.payloads();
  std::sort(p.begin(), p.end());  // equal delays may still reorder
  CHECK(p == std::vector<std::string>{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"});
}

TEST_CASE("delay: max below min is refused at init") {
  ProtocolStack s(std::make_shared<AsioRuntime>(1));
  s.add(std::make_unique<Loopback>());
  auto d = std::make_unique<Delay>();
  CHECK(d->set_attribute("out_delay_min", "2s") == "");
  CHECK(d->set_attribute("out_delay_max", "1s") == "");
  s.add(std::move(d));
  CHECK_THROWS_WITH_AS(s.init(), "out_delay_max: must be >= out_delay_min", std::invalid_argument);
}
