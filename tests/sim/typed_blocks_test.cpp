// The typed clients of the blocks (Counter, Lock, MapClient, LeaderSingleton) on the full
// simulated Raft stack: every counter operation, completion tokens, lock mutual exclusion with
// strictly increasing fencing tokens, try_lock timeouts, a crashed holder's lock released only
// when its session expires, and a linearizability check of concurrent map and counter
// histories under partitions and a leader crash (seeded; the seed is printed on failure).
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <map>
#include <optional>
#include <random>

#include "blocks/block_errors.hpp"
#include "blocks/counter.hpp"
#include "blocks/counter_async.hpp"
#include "blocks/leader_singleton.hpp"
#include "blocks/linearizability.hpp"
#include "blocks/lock.hpp"
#include "blocks/lock_async.hpp"
#include "blocks/map_client.hpp"
#include "blocks/map_client_async.hpp"
#include "sim/blocks_cluster.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

// Runs the world until `done` or 10 s of virtual time; fails the test if it never happens.
void await(BlockCluster& c, const bool& done) {
  REQUIRE(c.world.run_until([&] { return done; }, 10s));
}

BlockCluster& ready(BlockCluster& c) {
  REQUIRE(c.world.run_until([&] { return c.leader() != nullptr; }, 5s));
  return c;
}

}  // namespace

TEST_CASE("Counter: get, set, add, increment, decrement, compare_and_set on any member") {
  BlockCluster c(11);
  ready(c);
  Counter a(*c.nodes[0].handle, "hits");
  Counter b(*c.nodes[1].handle, "hits");
  bool done = false;
  std::error_code err;
  int64_t v = -1;
  auto value = [&](std::error_code ec, int64_t x) {
    err = ec;
    v = x;
    done = true;
  };
  auto step = [&](auto op) {
    done = false;
    op();
    await(c, done);
    CHECK(!err);
  };
  step([&] { a.get(value); });
  CHECK(v == 0);  // never set reads as 0
  step([&] {
    a.set(10, [&](std::error_code ec) {
      err = ec;
      done = true;
    });
  });
  step([&] { b.add_and_get(5, value); });
  CHECK(v == 15);
  step([&] { a.increment_and_get(value); });
  CHECK(v == 16);
  step([&] { b.decrement_and_get(value); });
  CHECK(v == 15);
  CasOutcome cas;
  auto on_cas = [&](std::error_code ec, CasOutcome o) {
    err = ec;
    cas = o;
    done = true;
  };
  step([&] { a.compare_and_set(14, 100, on_cas); });
  CHECK(!cas.swapped);
  CHECK(cas.value == 15);
  step([&] { b.compare_and_set(15, 100, on_cas); });
  CHECK(cas.swapped);
  CHECK(cas.value == 100);
  Counter third(*c.nodes[2].handle, "hits");
  for (auto mode : {raft::ReadMode::linearizable, raft::ReadMode::lease}) {
    step([&] { third.get(mode, value); });
    CHECK(v == 100);
  }
}

TEST_CASE("Counter: completion tokens — callback and use_awaitable, errors keep their category") {
  BlockCluster c(12);
  ready(c);
  Counter ctr(*c.nodes[1].handle, "t");
  bool done = false;
  int64_t got = 0;
  async_add_and_get(ctr, 7, [&](boost::system::error_code ec, int64_t v) {
    CHECK(!ec);
    got = v;
    done = true;
  });
  await(c, done);
  CHECK(got == 7);

  // A coroutine on an io_context, driven between simulation steps.
  boost::asio::io_context io;
  bool finished = false;
  int64_t awaited = 0;
  bool swapped = false;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        awaited = co_await async_increment_and_get(ctr, boost::asio::use_awaitable);
        auto o = co_await async_compare_and_set(ctr, 8, 1, boost::asio::use_awaitable);
        swapped = o.swapped;
        co_await async_set(ctr, 3, boost::asio::use_awaitable);
        awaited +=
            co_await async_get(ctr, raft::ReadMode::linearizable, boost::asio::use_awaitable);
        finished = true;
      },
      boost::asio::detached);
  REQUIRE(run_with_io(c.world, io, finished));
  CHECK(awaited == 8 + 3);
  CHECK(swapped);

  // No leader: the error arrives as ClientErrc, through the Boost error too.
  c.world.network().partition({{"A"}, {"B"}, {"C"}});
  c.world.run_for(2s);
  Counter lonely(*c.nodes[0].handle, "t", "counter", 1s);
  done = false;
  std::error_code err;
  async_increment_and_get(lonely, [&](boost::system::error_code ec, int64_t) {
    err = to_std_error(ec);
    done = true;
  });
  await(c, done);
  CHECK((err == raft::ClientErrc::no_leader || err == raft::ClientErrc::timeout));
  CHECK((error_name(err) == "no_leader" || error_name(err) == "timeout"));
  // A block error maps to block_category.
  std::error_code e = BlockStatus::not_holder;
  CHECK(e.category() == block_category());
  CHECK(error_name(e) == "not_holder");
  CHECK(to_std_error(to_boost_error(e)) == BlockStatus::not_holder);
}

TEST_CASE("MapClient: completion tokens — callback, use_future and use_awaitable") {
  BlockCluster c(14);
  ready(c);
  MapClient<std::string, std::string> m(*c.nodes[1].handle);
  // callback
  bool done = false;
  std::optional<std::string> prev{"unset"};
  async_put(m, std::string("a"), std::string("1"),
            [&](boost::system::error_code ec, std::optional<std::string> p) {
              CHECK(!ec);
              prev = p;
              done = true;
            });
  await(c, done);
  CHECK(!prev.has_value());  // absent before
  // use_future: the simulation runs until the future is ready
  auto f = async_put(m, std::string("a"), std::string("2"), boost::asio::use_future);
  REQUIRE(c.world.run_until(
      [&] { return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready; }, 10s));
  CHECK(f.get() == std::optional<std::string>("1"));
  // use_awaitable on an io_context driven between simulation steps
  boost::asio::io_context io;
  bool finished = false;
  std::optional<std::string> got, removed;
  bool swapped = false, has_b = true;
  uint64_t size = 0;
  boost::asio::co_spawn(
      io,
      [&]() -> boost::asio::awaitable<void> {
        swapped =
            co_await async_compare_and_set(m, std::string("a"), std::optional<std::string>("2"),
                                           std::string("3"), boost::asio::use_awaitable);
        got = co_await async_get(m, std::string("a"), raft::ReadMode::linearizable,
                                 boost::asio::use_awaitable);
        co_await async_put(m, std::string("b"), std::string("9"), boost::asio::use_awaitable);
        size = co_await async_size(m, raft::ReadMode::linearizable, boost::asio::use_awaitable);
        removed = co_await async_remove(m, std::string("b"), boost::asio::use_awaitable);
        has_b = co_await async_contains(m, std::string("b"), raft::ReadMode::linearizable,
                                        boost::asio::use_awaitable);
        finished = true;
      },
      boost::asio::detached);
  REQUIRE(run_with_io(c.world, io, finished));
  CHECK(swapped);
  CHECK(got == std::optional<std::string>("3"));
  CHECK(size == 2);
  CHECK(removed == std::optional<std::string>("9"));
  CHECK_FALSE(has_b);

  // No leader: the error keeps its ClientErrc category through the Boost error.
  c.world.network().partition({{"A"}, {"B"}, {"C"}});
  c.world.run_for(2s);
  MapClient<std::string, std::string> lonely(*c.nodes[0].handle, "map", 1s);
  done = false;
  std::error_code err;
  async_put(lonely, std::string("x"), std::string("1"),
            [&](boost::system::error_code ec, std::optional<std::string>) {
              err = to_std_error(ec);
              done = true;
            });
  await(c, done);
  CHECK((err == raft::ClientErrc::no_leader || err == raft::ClientErrc::timeout));
}

TEST_CASE("MapClient: put, get, remove, compare_and_set, size, contains") {
  BlockCluster c(13);
  ready(c);
  MapClient<std::string, std::string> m(*c.nodes[2].handle);
  bool done = false;
  std::optional<std::string> val;
  bool flag = false;
  uint64_t n = 0;
  auto on_value = [&](std::error_code ec, std::optional<std::string> v) {
    CHECK(!ec);
    val = std::move(v);
    done = true;
  };
  auto on_bool = [&](std::error_code ec, bool b) {
    CHECK(!ec);
    flag = b;
    done = true;
  };
  auto run = [&](auto op) {
    done = false;
    op();
    await(c, done);
  };
  run([&] { m.put("k", "v1", on_value); });
  CHECK(!val);
  run([&] { m.put("k", "v2", on_value); });
  CHECK(val == "v1");
  run([&] { m.get("k", on_value); });
  CHECK(val == "v2");
  run([&] { m.compare_and_set("k", std::string("v1"), "v3", on_bool); });
  CHECK(!flag);
  run([&] { m.compare_and_set("k", std::string("v2"), "v3", on_bool); });
  CHECK(flag);
  run([&] { m.compare_and_set("new", std::nullopt, "x", on_bool); });
  CHECK(flag);
  run([&] {
    m.size([&](std::error_code ec, uint64_t s) {
      CHECK(!ec);
      n = s;
      done = true;
    });
  });
  CHECK(n == 2);
  run([&] { m.contains("new", on_bool); });
  CHECK(flag);
  run([&] { m.remove("k", on_value); });
  CHECK(val == "v3");
  run([&] { m.get("k", raft::ReadMode::stale, on_value); });
  run([&] { m.contains("k", on_bool); });
  CHECK(!flag);
}

namespace {

// One contender: lock, hold for a while, unlock, again — checking the critical section.
struct Contender {
  BlockCluster& c;
  std::unique_ptr<Lock> lock;
  int id = 0;
  int& inside;                    // how many contenders are in the critical section
  std::vector<uint64_t>& tokens;  // every token, in the order acquired
  uint64_t& fence;                // the protected resource's largest accepted token
  int& violations;
  int acquisitions = 0;
  bool stop = false;

  void next() {
    if (stop) return;
    lock->lock([this](std::error_code ec, uint64_t token) {
      if (ec) return next();  // e.g. no_leader during an election: try again
      ++acquisitions;
      if (++inside != 1) ++violations;
      tokens.push_back(token);
      if (token <= fence) ++violations;  // the resource would reject it
      fence = std::max(fence, token);
      auto hold = std::chrono::milliseconds(1 + c.world.rng()() % 20);
      c.nodes[static_cast<size_t>(id)].rt->schedule(hold, [this] {
        --inside;  // leaves the critical section before asking to unlock
        lock->unlock([this](std::error_code ec) {
          if (ec) ++violations;
          next();
        });
      });
    });
  }
};

}  // namespace

TEST_CASE("Lock: mutual exclusion among 3 contending members, strictly increasing tokens") {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    INFO("seed " << seed);
    BlockCluster c(seed);
    c.world.network().defaults = sim::LinkFaults{0.02, 0.01, 100us, 2ms};
    ready(c);
    int inside = 0, violations = 0;
    std::vector<uint64_t> tokens;
    uint64_t fence = 0;
    std::vector<std::unique_ptr<Contender>> cs;
    for (int i = 0; i < 3; ++i) {
      auto& nd = c.nodes[static_cast<size_t>(i)];
      LockOptions opts;
      opts.poll_interval = 500ms;
      cs.push_back(std::make_unique<Contender>(
          Contender{c, std::make_unique<Lock>(*nd.handle, *nd.rt, "L", opts), i, inside, tokens,
                    fence, violations}));
    }
    for (auto& ct : cs)
      ct->next();
    c.world.run_for(3s);
    for (auto& ct : cs)
      ct->stop = true;
    c.world.run_for(2s);
    CHECK(violations == 0);
    for (auto& ct : cs)
      CHECK(ct->acquisitions > 3);  // FIFO: nobody starves
    for (size_t i = 1; i < tokens.size(); ++i)
      CHECK(tokens[i] > tokens[i - 1]);
  }
}

TEST_CASE("Lock: try_lock now and with a timeout, the cancel race, listeners, still_held") {
  BlockCluster c(21);
  ready(c);
  auto& na = c.nodes[0];
  auto& nb = c.nodes[1];
  Lock a(*na.handle, *na.rt, "L");
  Lock b(*nb.handle, *nb.rt, "L");
  std::vector<LockClientEvent> events;
  a.add_listener([&](const LockClientEvent& e) { events.push_back(e); });
  bool done = false;
  std::optional<uint64_t> got;
  auto on_try = [&](std::error_code ec, std::optional<uint64_t> t) {
    CHECK(!ec);
    got = t;
    done = true;
  };
  a.try_lock(on_try);
  await(c, done);
  REQUIRE(got);
  uint64_t ta = *got;
  CHECK(a.token() == ta);

  done = false;
  b.try_lock(on_try);  // busy, immediately
  await(c, done);
  CHECK(!got);

  done = false;
  Duration called = c.world.now();
  b.try_lock(500ms, on_try);  // queues, then cancels
  await(c, done);
  CHECK(!got);
  CHECK(c.world.now() - called >= 500ms);

  // A second acquisition on the same Lock while one runs is refused.
  done = false;
  bool refused = false;
  b.try_lock(2s, on_try);
  b.try_lock([&](std::error_code ec, std::optional<uint64_t>) {
    refused = ec == std::errc::operation_in_progress;
  });
  c.world.run_for(200ms);
  CHECK(refused);
  bool unlocked = false;
  a.unlock([&](std::error_code ec) { unlocked = !ec; });  // the waiting b gets it
  await(c, done);
  CHECK(unlocked);
  REQUIRE(got);
  CHECK(*got > ta);

  // still_held: a sees it lost (released), b still holds.
  done = false;
  bool held = true;
  a.still_held([&](std::error_code ec, bool h) {
    CHECK(!ec);
    held = h;
    done = true;
  });
  await(c, done);
  CHECK(!held);
  done = false;
  b.still_held([&](std::error_code ec, bool h) {
    CHECK(!ec);
    held = h;
    done = true;
  });
  await(c, done);
  CHECK(held);
  // unlock by a non-holder: not_holder.
  done = false;
  std::error_code err;
  a.unlock([&](std::error_code ec) {
    err = ec;
    done = true;
  });
  await(c, done);
  CHECK(err == BlockStatus::not_holder);
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == LockClientEvent::Kind::acquired);
  CHECK(events[1].kind == LockClientEvent::Kind::released);
  CHECK(events[1].token == ta);

  // Token forms.
  done = false;
  async_unlock(b, [&](boost::system::error_code ec) {
    CHECK(!ec);
    done = true;
  });
  await(c, done);
  done = false;
  async_try_lock(a, 1s, [&](boost::system::error_code ec, std::optional<uint64_t> t) {
    CHECK(!ec);
    got = t;
    done = true;
  });
  await(c, done);
  CHECK(got);
}

TEST_CASE("Lock: a crashed holder's lock is released when its session expires, never before") {
  SessionConfig cfg;
  cfg.session_timeout_ms = 2000;
  for (uint64_t seed = 31; seed <= 34; ++seed) {
    INFO("seed " << seed);
    BlockCluster c(seed, 3, cfg);
    ready(c);
    // The holder is a follower (seeds vary whether the waiter is the leader).
    BlockNode* leader = c.leader();
    BlockNode* holder = nullptr;
    BlockNode* waiter = nullptr;
    for (auto& nd : c.nodes)
      if (&nd != leader) (holder ? waiter : holder) = &nd;
    if (seed % 2) waiter = leader;
    std::vector<LockEvent> released;
    for (auto& nd : c.nodes)
      if (&nd == waiter)
        nd.locks->add_listener([&](const LockEvent& e) {
          if (e.kind == LockEvent::Kind::released) released.push_back(e);
        });
    auto hl = std::make_unique<Lock>(*holder->handle, *holder->rt, "L");
    Lock wl(*waiter->handle, *waiter->rt, "L");
    bool done = false;
    uint64_t th = 0, tw = 0;
    hl->lock([&](std::error_code ec, uint64_t t) {
      CHECK(!ec);
      th = t;
      done = true;
    });
    await(c, done);
    bool granted = false;
    wl.lock([&](std::error_code ec, uint64_t t) {
      CHECK(!ec);
      tw = t;
      granted = true;
    });
    // Live holder: kept across a leader crash and far longer than the session timeout.
    if (seed % 2 == 0) {
      leader->crash();
      c.world.run_for(1s);
      leader->start(c.members, cfg);
    }
    c.world.run_for(6s);
    CHECK(!granted);
    // Now the holder's member crashes: nothing renews its session.
    hl.reset();
    Duration crashed_at = c.world.now();
    holder->crash();
    // Keep-alives go every timeout/4, so the last one is at most 500 ms before the crash.
    c.world.run_for(1400ms);
    CHECK(!granted);
    REQUIRE(c.world.run_until([&] { return granted; }, 10s));
    CHECK(c.world.now() - crashed_at >= 1500ms);
    CHECK(tw > th);
    REQUIRE(!released.empty());
    CHECK(released.back().reason == LockEvent::Reason::session_ended);
    CHECK(released.back().token == th);
  }
}

TEST_CASE("LeaderSingleton: runs only on the leader and moves with it") {
  BlockCluster c(41);
  ready(c);
  std::vector<int> running(3, 0);
  std::vector<std::unique_ptr<LeaderSingleton>> ss;
  for (size_t i = 0; i < 3; ++i)
    ss.push_back(std::make_unique<LeaderSingleton>(
        *c.nodes[i].handle, [&, i](raft::Term) { ++running[i]; }, [&, i] { --running[i]; }));
  c.world.run_for(500ms);
  BlockNode* l = c.leader();
  REQUIRE(l);
  size_t li = static_cast<size_t>(l - c.nodes.data());
  for (size_t i = 0; i < 3; ++i)
    CHECK(running[i] == (i == li ? 1 : 0));
  // Depose it by a partition: it stops (check-quorum), another starts.
  std::vector<std::string> rest;
  for (auto& nd : c.nodes)
    if (&nd != l) rest.push_back(nd.id);
  c.world.network().partition({{l->id}, rest});
  c.world.run_for(3s);
  CHECK(running[li] == 0);
  int total = 0;
  for (int r : running)
    total += r;
  CHECK(total == 1);
  c.world.network().heal();
}

// --- Linearizability under partitions and a leader crash ------------------------------------

namespace cohort::lin {
CheckResult check(const std::vector<MapOperation>& h) {
  return check_map(h);
}
CheckResult check(const std::vector<CounterOperation>& h) {
  return check_counter(h);
}
}  // namespace cohort::lin

namespace {

// A closed-loop client on one member issuing random map and counter operations.
struct LinClient {
  BlockCluster& c;
  size_t node = 0;
  int id = 0;
  std::vector<lin::MapOperation>& map_history;
  std::vector<lin::CounterOperation>& counter_history;
  std::unique_ptr<MapClient<std::string, std::string>> map;
  std::unique_ptr<Counter> counter;
  std::mt19937_64 rng;
  bool stop = false;
  // In-flight operation: index into one of the histories (map if is_map).
  std::optional<size_t> in_flight = std::nullopt;
  bool is_map = false;
  int next_value = 0;

  int64_t now() const { return c.world.now().count(); }

  void attach() {
    auto& h = *c.nodes[node].handle;
    map = std::make_unique<MapClient<std::string, std::string>>(h, "map", 2s);
    counter = std::make_unique<Counter>(h, "c", "counter", 2s);
  }

  // The member crashed: the outcome of what was in flight is unknown.
  void crashed() {
    if (in_flight) {
      if (is_map)
        map_history[*in_flight].known = false;
      else
        counter_history[*in_flight].known = false;
    }
    in_flight.reset();
    map.reset();
    counter.reset();
  }

  void done_map(size_t i, std::error_code ec) {
    in_flight.reset();
    auto& op = map_history[i];
    if (ec)
      op.known = false;  // may or may not have happened
    else
      op.ret = now();
    next();
  }
  void done_counter(size_t i, std::error_code ec) {
    in_flight.reset();
    auto& op = counter_history[i];
    if (ec)
      op.known = false;
    else
      op.ret = now();
    next();
  }

  void next() {
    if (stop || !map) return;
    std::uniform_int_distribution<int> pick(0, 9);
    int what = pick(rng);
    std::string key = "k" + std::to_string(pick(rng) % 3);
    std::string value = std::to_string(id) + ":" + std::to_string(++next_value);
    if (what < 6) {
      lin::MapOperation op;
      op.client = id;
      op.call = now();
      op.ret = lin::never;
      op.key = key;
      size_t i = map_history.size();
      is_map = true;
      in_flight = i;
      auto on_value = [this, i](std::error_code ec, std::optional<std::string> v) {
        if (!ec) map_history[i].result = std::move(v);
        done_map(i, ec);
      };
      if (what < 2) {
        op.kind = lin::MapOpKind::put;
        op.value = value;
        map_history.push_back(op);
        map->put(key, value, on_value);
      } else if (what < 4) {
        op.kind = lin::MapOpKind::get;
        map_history.push_back(op);
        map->get(key, on_value);
      } else if (what < 5) {
        op.kind = lin::MapOpKind::remove;
        map_history.push_back(op);
        map->remove(key, on_value);
      } else {
        // Expect the value this client wrote last (or absent) — some succeed, some fail.
        op.kind = lin::MapOpKind::compare_and_set;
        op.value = value;
        if (next_value > 1) op.expected = std::to_string(id) + ":" + std::to_string(next_value - 1);
        map_history.push_back(op);
        map->compare_and_set(key, op.expected, value, [this, i](std::error_code ec, bool swapped) {
          if (!ec) map_history[i].ok = swapped;
          done_map(i, ec);
        });
      }
      return;
    }
    lin::CounterOperation op;
    op.client = id;
    op.call = now();
    op.ret = lin::never;
    op.name = "c";
    size_t i = counter_history.size();
    is_map = false;
    in_flight = i;
    auto on_value = [this, i](std::error_code ec, int64_t v) {
      if (!ec) counter_history[i].result = v;
      done_counter(i, ec);
    };
    if (what < 8) {
      op.kind = lin::CounterOpKind::add_and_get;
      op.arg = 1 + pick(rng) % 3;
      counter_history.push_back(op);
      counter->add_and_get(op.arg, on_value);
    } else if (what < 9) {
      op.kind = lin::CounterOpKind::get;
      counter_history.push_back(op);
      counter->get(on_value);
    } else {
      op.kind = lin::CounterOpKind::compare_and_set;
      op.expected = pick(rng) * 2;
      op.arg = op.expected + 1;
      counter_history.push_back(op);
      counter->compare_and_set(op.expected, op.arg, [this, i](std::error_code ec, CasOutcome o) {
        if (!ec) counter_history[i].ok = o.swapped;
        done_counter(i, ec);
      });
    }
  }
};

}  // namespace

TEST_CASE(
    "linearizability: concurrent map and counter clients under partitions and a leader crash") {
  for (uint64_t seed = 100; seed < 112; ++seed) {
    INFO("seed " << seed);
    BlockCluster c(seed);
    c.world.network().defaults = sim::LinkFaults{0.01, 0.01, 100us, 3ms};
    ready(c);
    std::vector<lin::MapOperation> map_history;
    std::vector<lin::CounterOperation> counter_history;
    std::vector<std::unique_ptr<LinClient>> clients;
    for (size_t n = 0; n < 3; ++n)
      for (int k = 0; k < 2; ++k) {
        int id = static_cast<int>(n) * 2 + k;
        clients.push_back(std::make_unique<LinClient>(
            LinClient{c,
                      n,
                      id,
                      map_history,
                      counter_history,
                      {},
                      {},
                      std::mt19937_64(seed * 1000 + static_cast<uint64_t>(id))}));
        clients.back()->attach();
        clients.back()->next();
      }
    c.world.run_for(400ms);
    // Partition the leader away from the others, then heal.
    BlockNode* l = c.leader();
    REQUIRE(l);
    std::vector<std::string> rest;
    for (auto& nd : c.nodes)
      if (&nd != l) rest.push_back(nd.id);
    c.world.network().partition({{l->id}, rest});
    c.world.run_for(1500ms);
    c.world.network().heal();
    c.world.run_for(500ms);
    // Crash the current leader mid-workload, restart it later.
    l = c.leader();
    REQUIRE(l);
    size_t li = static_cast<size_t>(l - c.nodes.data());
    for (auto& cl : clients)
      if (cl->node == li) cl->crashed();
    l->crash();
    c.world.run_for(800ms);
    l->start(c.members);
    for (auto& cl : clients)
      if (cl->node == li) {
        cl->attach();
        cl->next();
      }
    c.world.run_for(800ms);
    for (auto& cl : clients)
      cl->stop = true;
    REQUIRE(c.world.run_until(
        [&] {
          for (auto& cl : clients)
            if (cl->in_flight) return false;
          return true;
        },
        30s));
    auto mr = lin::check_map(map_history);
    auto cr = lin::check_counter(counter_history);
    INFO("map ops " << map_history.size() << " counter ops " << counter_history.size());
    CHECK(map_history.size() > 50);
    CHECK(counter_history.size() > 30);
    // On failure, say whether the writes alone linearize (then a read saw the wrong state).
    auto writes_only = [](auto history, auto is_read) {
      std::erase_if(history, is_read);
      return std::string(lin::to_string(lin::check(history).verdict));
    };
    CHECK_MESSAGE(
        mr.verdict == lin::Verdict::linearizable,
        "map key " << mr.failed_key << ": " << std::string(lin::to_string(mr.verdict))
                   << "; writes only: " << writes_only(map_history, [](const lin::MapOperation& o) {
                        return o.kind == lin::MapOpKind::get;
                      }));
    CHECK_MESSAGE(cr.verdict == lin::Verdict::linearizable,
                  "counter " << cr.failed_key << ": " << std::string(lin::to_string(cr.verdict))
                             << "; writes only: "
                             << writes_only(counter_history, [](const lin::CounterOperation& o) {
                                  return o.kind == lin::CounterOpKind::get;
                                }));
  }
}
