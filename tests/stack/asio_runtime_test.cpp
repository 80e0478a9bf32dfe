// AsioRuntime: posted work runs on the loop thread, timers fire and cancel, offloaded work runs
// off the loop in order and completes on the loop, the PRNG replays from its seed. No timing
// assertions: waits are futures with generous timeouts.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include "stack/asio_runtime.hpp"

using namespace cohort;
using namespace std::chrono_literals;

namespace {
constexpr auto patience = 10s;

template <typename T>
bool ready(std::future<T>& f) {
  return f.wait_for(patience) == std::future_status::ready;
}
}  // namespace

TEST_CASE("asio runtime: post runs on the loop thread, in order") {
  AsioRuntime rt(1, "test-loop");
  CHECK_FALSE(rt.in_loop());
  std::vector<int> order;
  std::promise<std::thread::id> done;
  auto f = done.get_future();
  for (int i = 0; i < 100; ++i)
    rt.post([&order, i] { order.push_back(i); });
  rt.post([&] {
    CHECK(rt.in_loop());
    done.set_value(std::this_thread::get_id());
  });
  REQUIRE(ready(f));
  CHECK(f.get() != std::this_thread::get_id());
  std::vector<int> want(100);
  for (int i = 0; i < 100; ++i)
    want[static_cast<size_t>(i)] = i;
  CHECK(order == want);
}

TEST_CASE("asio runtime: timers fire after their delay, cancelled ones never") {
  AsioRuntime rt(1);
  std::promise<Duration> fired;
  auto f = fired.get_future();
  std::atomic<bool> cancelled_ran{false};
  std::promise<void> armed;
  auto armed_f = armed.get_future();
  rt.post([&] {
    Duration start = rt.now();
    TimerHandle never = rt.schedule(5ms, [&] { cancelled_ran = true; });
    CHECK(never.armed());
    never.cancel();
    CHECK_FALSE(never.armed());
    TimerHandle h = rt.schedule(20ms, [&, start] { fired.set_value(rt.now() - start); });
    CHECK(h.armed());
    armed.set_value();
  });
  REQUIRE(ready(armed_f));
  REQUIRE(ready(f));
  CHECK(f.get() >= 20ms);  // a lower bound only: a timer never fires early
  // The cancelled timer (5ms) was due before the 20ms one fired.
  std::promise<void> later;
  auto lf = later.get_future();
  rt.post([&] { later.set_value(); });
  REQUIRE(ready(lf));
  CHECK_FALSE(cancelled_ran);
}

TEST_CASE("asio runtime: offload runs work off the loop in order, then done on the loop") {
  AsioRuntime rt(1);
  std::vector<int> work_order, done_order;
  std::mutex mu;
  std::promise<void> all;
  auto f = all.get_future();
  rt.post([&] {
    for (int i = 0; i < 20; ++i) {
      rt.offload(
          [&, i] {
            CHECK_FALSE(rt.in_loop());
            std::lock_guard lock(mu);
            work_order.push_back(i);
          },
          [&, i] {
            CHECK(rt.in_loop());
            done_order.push_back(i);
            if (i == 19) all.set_value();
          });
    }
  });
  REQUIRE(ready(f));
  std::vector<int> want(20);
  for (int i = 0; i < 20; ++i)
    want[static_cast<size_t>(i)] = i;
  CHECK(work_order == want);
  CHECK(done_order == want);
}

TEST_CASE("asio runtime: the PRNG replays from its seed, random_between stays in range") {
  AsioRuntime a(77), b(77);
  CHECK(a.rng()() == b.rng()());
  for (int i = 0; i < 1000; ++i) {
    Duration d = a.random_between(10ms, 20ms);
    CHECK(d >= 10ms);
    CHECK(d <= 20ms);
  }
  CHECK(a.random_between(5ms, 5ms) == 5ms);
  CHECK(a.random_between(9ms, 1ms) == 9ms);
}

TEST_CASE("asio runtime: now is monotonic, shutdown is idempotent and drops pending work") {
  auto rt = std::make_unique<AsioRuntime>(3);
  Duration t1 = rt->now();
  Duration t2 = rt->now();
  CHECK(t2 >= t1);
  std::promise<void> blocked;
  auto release = blocked.get_future().share();
  std::promise<void> entered;
  auto entered_f = entered.get_future();
  rt->post([&, release] {
    rt->schedule(1h, [] { FAIL("a dropped timer ran"); });
    entered.set_value();
    release.wait();
  });
  REQUIRE(ready(entered_f));
  bool ran_after = false;
  rt->post([&] { ran_after = true; });
  blocked.set_value();
  rt->shutdown();
  rt->shutdown();
  rt.reset();       // the destructor shuts down again: still fine
  (void)ran_after;  // may or may not have run before the stop; either is allowed
}
