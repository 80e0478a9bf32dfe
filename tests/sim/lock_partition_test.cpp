// Lock safety when the holder is partitioned away (not crashed): its session expires on
// cluster time while it is cut off, another member is granted the lock with a strictly larger
// fencing token, the old holder cannot confirm a hold it lost, never sees a second grant, and
// after healing learns that it lost the lock (still_held, listeners, unlock). Odd seeds cut off
// the leader itself, even seeds a follower.
#include <doctest/doctest.h>

#include <map>
#include <optional>

#include "blocks/block_errors.hpp"
#include "blocks/lock.hpp"
#include "sim/blocks_cluster.hpp"
#include "sim/sim_seeds.hpp"

using namespace cohort;
using namespace cohort::test;

TEST_CASE("Lock: a partitioned holder loses the lock when its session expires, fenced") {
  SessionConfig cfg;
  cfg.session_timeout_ms = 2000;  // keep-alives every 500 ms
  for (uint64_t seed : sim_seeds(81, 6)) {
    INFO("seed " << seed);
    BlockCluster c(seed, 3, cfg);
    auto& w = c.world;
    REQUIRE(w.run_until([&] { return c.leader() != nullptr; }, 5s));
    BlockNode* leader = c.leader();
    BlockNode* holder = nullptr;
    std::vector<BlockNode*> others;
    for (auto& nd : c.nodes)
      if ((seed % 2 == 1) == (&nd == leader) && !holder)
        holder = &nd;
      else
        others.push_back(&nd);
    REQUIRE(holder);
    BlockNode* waiter = others[(seed / 2) % 2];

    // Every replica's LockService reports the grants and releases it applies.
    std::map<std::string, std::vector<LockEvent>> applied;
    for (auto& nd : c.nodes)
      nd.locks->add_listener([&applied, id = nd.id](const LockEvent& e) {
        if (e.name == "L") applied[id].push_back(e);
      });

    LockOptions hopts;
    hopts.timeout = 1s;  // so a check that cannot reach a leader fails instead of waiting
    Lock hl(*holder->handle, *holder->rt, "L", hopts);
    std::vector<LockClientEvent> hevents;
    hl.add_listener([&](const LockClientEvent& e) { hevents.push_back(e); });
    LockOptions wopts;
    wopts.poll_interval = 500ms;
    Lock wl(*waiter->handle, *waiter->rt, "L", wopts);

    uint64_t fence = 0;  // the protected resource: the largest token it accepted
    auto write = [&](uint64_t token) {
      if (token <= fence) return false;
      fence = token;
      return true;
    };

    std::optional<uint64_t> th;
    hl.lock([&](std::error_code ec, uint64_t t) {
      CHECK(!ec);
      th = t;
    });
    REQUIRE(w.run_until([&] { return th.has_value(); }, 10s));
    CHECK(write(*th));
    std::optional<uint64_t> tw;
    int waiter_grants = 0;
    wl.lock([&](std::error_code ec, uint64_t t) {
      CHECK(!ec);
      ++waiter_grants;
      tw = t;
    });
    w.run_for(3s);  // a live holder keeps the lock well past the session timeout
    CHECK(!tw);

    // Cut the holder off. Its keep-alives no longer reach a majority.
    std::vector<std::string> rest;
    for (auto* nd : others)
      rest.push_back(nd->id);
    w.network().partition({{holder->id}, rest});
    Duration cut_at = w.now();
    // The last keep-alive that committed was at most 500 ms before the cut: no grant before
    // 1500 ms of cluster time have passed.
    w.run_for(1400ms);
    CHECK(!tw);
    REQUIRE(w.run_until([&] { return tw.has_value(); }, 10s));
    Duration granted_after = w.now() - cut_at;
    CHECK(granted_after >= 1500ms);
    CHECK(*tw > *th);
    CHECK(write(*tw));
    CHECK(!write(*th));  // the old holder's writes are rejected from now on

    // Still cut off, the old holder believes it holds the lock (it cannot know), but it can
    // never confirm that: still_held fails rather than answering true.
    CHECK(hl.token() == th);
    std::optional<std::error_code> check_err;
    bool check_held = true;
    hl.still_held([&](std::error_code ec, bool held) {
      check_err = ec;
      check_held = held;
    });
    REQUIRE(w.run_until([&] { return check_err.has_value(); }, 10s));
    CHECK(*check_err);
    CHECK(!check_held);
    CHECK(hl.token() == th);  // an error proves nothing either way

    // Healed: the old holder learns that it lost the lock.
    w.network().heal();
    w.run_for(1s);
    check_err.reset();
    check_held = true;
    hl.still_held([&](std::error_code ec, bool held) {
      check_err = ec;
      check_held = held;
    });
    REQUIRE(w.run_until([&] { return check_err.has_value(); }, 10s));
    CHECK(!*check_err);
    CHECK(!check_held);
    CHECK(!hl.token());
    std::optional<std::error_code> unlock_err;
    hl.unlock([&](std::error_code ec) { unlock_err = ec; });
    REQUIRE(w.run_until([&] { return unlock_err.has_value(); }, 10s));
    CHECK(*unlock_err == BlockStatus::not_holder);
    // The holder's client saw one grant, then the loss: never a second grant.
    REQUIRE(hevents.size() == 2);
    CHECK(hevents[0].kind == LockClientEvent::Kind::acquired);
    CHECK(hevents[0].token == *th);
    CHECK(hevents[1].kind == LockClientEvent::Kind::lost);
    CHECK(hevents[1].token == *th);
    CHECK(waiter_grants == 1);

    // Every replica applied the same history: th granted, released because its session
    // ended, then tw granted; each grant after the previous release, tokens increasing.
    w.run_for(500ms);
    for (auto& nd : c.nodes) {
      INFO("replica " << nd.id);
      const auto& ev = applied[nd.id];
      REQUIRE(ev.size() >= 3);
      CHECK(ev[0].kind == LockEvent::Kind::acquired);
      CHECK(ev[0].token == *th);
      CHECK(ev[1].kind == LockEvent::Kind::released);
      CHECK(ev[1].reason == LockEvent::Reason::session_ended);
      CHECK(ev[1].token == *th);
      CHECK(ev[2].kind == LockEvent::Kind::acquired);
      CHECK(ev[2].token == *tw);
      uint64_t last = 0;
      bool held = false;
      for (const auto& e : ev) {
        if (e.kind == LockEvent::Kind::acquired) {
          CHECK(!held);
          CHECK(e.token > last);
          last = e.token;
          held = true;
        } else {
          CHECK(held);
          CHECK(e.token == last);
          held = false;
        }
      }
    }

    // The old holder is an ordinary client again: after the waiter unlocks it gets the lock
    // with a token larger than every earlier one.
    std::optional<std::error_code> wunlock;
    wl.unlock([&](std::error_code ec) { wunlock = ec; });
    REQUIRE(w.run_until([&] { return wunlock.has_value(); }, 10s));
    CHECK(!*wunlock);
    std::optional<uint64_t> again;
    hl.lock([&](std::error_code ec, uint64_t t) {
      CHECK(!ec);
      again = t;
    });
    REQUIRE(w.run_until([&] { return again.has_value(); }, 10s));
    CHECK(*again > *tw);
    CHECK(write(*again));
  }
}
