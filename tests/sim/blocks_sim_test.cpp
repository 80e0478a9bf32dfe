// The building blocks on the full simulated stack: exactly-once counter increments across leader
// crashes, reads in every mode, and lock fencing.
#include <doctest/doctest.h>

#include <optional>

#include "blocks/counter_codec.hpp"
#include "sim/blocks_cluster.hpp"
#include "sim/sim_seeds.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

// Each member increments "c" in a closed loop; counts what was acknowledged.
struct IncrementLoop {
  BlockNode& node;
  int64_t& acked;
  int& in_flight;
  int& failed;
  bool stop = false;
  void next() {
    if (stop || !node.up()) return;
    ++in_flight;
    node.handle->submit("counter", counter_codec::increment_and_get("c"),
                        [this](std::error_code ec, Buffer result) {
                          --in_flight;
                          if (!ec && counter_codec::decode_value(result).ok())
                            ++acked;
                          else
                            ++failed;
                          next();
                        });
  }
};

}  // namespace

TEST_CASE("counter increments across leader crashes: exactly the acknowledged ones applied") {
  int seeds = 12;
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(seeds); ++seed) {
    BlockCluster c(seed);
    c.world.network().defaults = sim::LinkFaults{0.02, 0.02, 100us, 3ms};
    REQUIRE(c.world.run_until([&] { return c.leader() != nullptr; }, 5s));
    int64_t acked = 0;
    int in_flight = 0, failed = 0;
    std::vector<std::unique_ptr<IncrementLoop>> loops;
    for (auto& nd : c.nodes) {
      loops.push_back(std::make_unique<IncrementLoop>(IncrementLoop{nd, acked, in_flight, failed}));
      loops.back()->next();
    }
    c.world.run_for(300ms);
    // Kill the leader mid-workload; its own in-flight increments have an unknown outcome.
    BlockNode* l = c.leader();
    REQUIRE(l);
    size_t li = static_cast<size_t>(l - c.nodes.data());
    loops[li]->stop = true;
    int lost_in_flight = 1;  // the crashed member runs one increment at a time
    in_flight -= lost_in_flight;
    l->crash();
    c.world.run_for(500ms);
    l->start(c.members);
    c.world.run_for(300ms);
    for (auto& lp : loops)
      lp->stop = true;
    REQUIRE(c.world.run_until([&] { return in_flight == 0; }, 30s));
    // Read the final value linearizably from every member.
    for (auto& nd : c.nodes) {
      int64_t value = -1;
      bool done = false;
      nd.handle->read("counter", counter_codec::get("c"), ReadMode::linearizable,
                      [&](std::error_code ec, ReadOutcome out) {
                        done = true;
                        if (!ec) value = counter_codec::decode_value(out.result).value;
                      });
      REQUIRE(c.world.run_until([&] { return done; }, 10s));
      INFO("seed " << seed << " member " << nd.id << " acked " << acked);
      CHECK(failed == 0);
      CHECK(value >= acked);
      CHECK(value <= acked + lost_in_flight);
    }
  }
}

TEST_CASE("reads: stale reports its lag, linearizable and lease reads see acknowledged writes") {
  for (uint64_t seed : sim_seeds(5, 4)) {
    INFO("seed " << seed);
    BlockCluster c(seed);
    REQUIRE(c.world.run_until([&] { return c.leader() != nullptr; }, 5s));
    BlockNode* follower = c.follower();
    bool done = false;
    follower->handle->submit("counter", counter_codec::set("x", 42),
                             [&](std::error_code ec, Buffer) { done = !ec; });
    REQUIRE(c.world.run_until([&] { return done; }, 5s));

    // A linearizable read (ReadIndex) writes nothing to the log: a batch of them on every member
    // leaves the leader's log where it was. (Right after the write, so no session keep-alive is
    // due in between.)
    BlockNode* leader = c.leader();
    REQUIRE(leader);
    raft::RaftStatus before = leader->status();
    auto* repl = leader->ch->stack().find("REPLICATION");
    uint64_t proposals = repl->stat("proposals");
    int pending = 0, saw_write = 0;
    for (int i = 0; i < 10; ++i)
      for (auto& nd : c.nodes) {
        ++pending;
        nd.handle->read("counter", counter_codec::get("x"), ReadMode::linearizable,
                        [&](std::error_code ec, ReadOutcome out) {
                          --pending;
                          saw_write += !ec && counter_codec::decode_value(out.result).value == 42;
                        });
      }
    REQUIRE(c.world.run_until([&] { return pending == 0; }, 5s));
    CHECK(saw_write == 30);
    raft::RaftStatus after = leader->status();
    CHECK(after.term == before.term);
    CHECK(after.last_index == before.last_index);
    CHECK(repl->stat("proposals") == proposals);

    for (ReadMode mode : {ReadMode::linearizable, ReadMode::lease, ReadMode::stale}) {
      for (auto& nd : c.nodes) {
        int64_t value = -1;
        bool got = false;
        nd.handle->read("counter", counter_codec::get("x"), mode,
                        [&](std::error_code ec, ReadOutcome out) {
                          got = !ec;
                          value = counter_codec::decode_value(out.result).value;
                        });
        REQUIRE(c.world.run_until([&] { return got; }, 5s));
        // A stale read may not see the write yet on a follower that has not applied it.
        if (mode != ReadMode::stale) CHECK(value == 42);
      }
    }

    // Stale reads say how stale they are. Cut a follower off; the others commit more writes.
    // Partitioned, it still answers stale reads at once, from the state it has: applied_index
    // is behind the leader's commit, and commit_lag is what this member knows is committed but
    // not applied (here nothing: it cannot learn of the commits it missed), so applied_index is
    // the figure to compare with the leader's.
    BlockNode* cut = follower;
    std::vector<std::string> rest;
    for (auto& nd : c.nodes)
      if (&nd != cut) rest.push_back(nd.id);
    c.world.network().partition({{cut->id}, rest});
    const auto cut_at = c.world.now();
    leader = c.leader();
    REQUIRE(leader);
    REQUIRE(leader != cut);
    for (int64_t v = 100; v <= 105; ++v) {
      done = false;
      leader->handle->submit("counter", counter_codec::set("x", v),
                             [&](std::error_code ec, Buffer) { done = !ec; });
      REQUIRE(c.world.run_until([&] { return done; }, 5s));
    }
    raft::Index committed = leader->status().commit_index;
    auto stale_read = [&](BlockNode& nd) {
      std::optional<ReadOutcome> out;
      nd.handle->read("counter", counter_codec::get("x"), ReadMode::stale,
                      [&](std::error_code ec, ReadOutcome o) {
                        CHECK(!ec);
                        out = std::move(o);
                      });
      REQUIRE(c.world.run_until([&] { return out.has_value(); }, 1s));
      return *out;
    };
    ReadOutcome old = stale_read(*cut);
    raft::RaftStatus cs = cut->status();
    CHECK(counter_codec::decode_value(old.result).value == 42);
    CHECK(old.applied_index == cs.applied_index);
    CHECK(old.applied_index < committed);
    CHECK(old.applied_index + old.commit_lag == std::max(cs.commit_index, cs.applied_index));
    // ... and how long it has not heard from a leader: at least the time since the cut.
    const auto cut_for =
        std::chrono::duration_cast<std::chrono::milliseconds>(c.world.now() - cut_at).count();
    CHECK(cut_for > 0);
    CHECK(old.last_contact_ms != ReadOutcome::never_contacted);
    CHECK(old.last_contact_ms >= static_cast<uint64_t>(cut_for));
    // A linearizable read there cannot be served: it fails instead of returning the old value.
    std::optional<std::error_code> lin_err;
    cut->handle->read(
        "counter", counter_codec::get("x"), ReadMode::linearizable,
        [&](std::error_code ec, ReadOutcome) { lin_err = ec; }, 1s);
    REQUIRE(c.world.run_until([&] { return lin_err.has_value(); }, 5s));
    CHECK((*lin_err == ClientErrc::no_leader || *lin_err == ClientErrc::timeout));
    // The leader's own stale read is current.
    ReadOutcome at_leader = stale_read(*leader);
    CHECK(counter_codec::decode_value(at_leader.result).value == 105);
    CHECK(at_leader.applied_index >= committed);
    CHECK(at_leader.commit_lag == 0);
    CHECK(at_leader.last_contact_ms == 0);

    // Healed, the follower catches up: its stale read is current and reports no lag.
    c.world.network().heal();
    REQUIRE(c.world.run_until([&] { return cut->status().applied_index >= committed; }, 5s));
    ReadOutcome fresh = stale_read(*cut);
    CHECK(counter_codec::decode_value(fresh.result).value == 105);
    CHECK(fresh.applied_index >= committed);
    CHECK(fresh.commit_lag == 0);
    CHECK(fresh.last_contact_ms < static_cast<uint64_t>(cut_for));  // heard again since
  }
}

TEST_CASE("no leader: a request fails with no_leader instead of hanging") {
  BlockCluster c(8);
  REQUIRE(c.world.run_until([&] { return c.leader() != nullptr; }, 5s));
  c.world.network().partition({{"A"}, {"B"}, {"C"}});
  c.world.run_for(2s);  // check-quorum: the isolated leader steps down
  std::error_code result;
  bool done = false;
  auto& a = c.nodes[0];
  a.handle->submit(
      "counter", counter_codec::increment_and_get("c"),
      [&](std::error_code ec, Buffer) {
        done = true;
        result = ec;
      },
      1s);
  bool finished = c.world.run_until([&] { return done; }, 5s);
  auto* cl = a.ch->stack().find("CLIENT");
  INFO("submitted " << cl->stat("submitted") << " timeouts " << cl->stat("timeouts") << " retries "
                    << cl->stat("retries") << " now " << c.world.now().count());
  REQUIRE(finished);
  CHECK((result == make_error_code(ClientErrc::no_leader) ||
         result == make_error_code(ClientErrc::timeout)));
}

TEST_CASE("a linearizable read after acknowledged writes sees all of them (batched apply)") {
  for (uint64_t seed = 20; seed < 30; ++seed) {
    BlockCluster c(seed);
    REQUIRE(c.world.run_until([&] { return c.leader() != nullptr; }, 5s));
    int64_t acked = 0;
    int pending = 0;
    // Many concurrent increments from every member: the leader commits and applies them in
    // batches, and each acknowledgement is sent while the rest of the batch is being applied.
    for (auto& nd : c.nodes)
      for (int i = 0; i < 30; ++i) {
        ++pending;
        nd.handle->submit("counter", counter_codec::increment_and_get("c"),
                          [&](std::error_code ec, Buffer) {
                            --pending;
                            acked += !ec;
                          });
      }
    REQUIRE(c.world.run_until([&] { return pending == 0; }, 10s));
    for (auto& nd : c.nodes) {
      int64_t value = -1;
      bool done = false;
      nd.handle->read("counter", counter_codec::get("c"), ReadMode::linearizable,
                      [&](std::error_code ec, ReadOutcome out) {
                        done = true;
                        if (!ec) value = counter_codec::decode_value(out.result).value;
                      });
      REQUIRE(c.world.run_until([&] { return done; }, 5s));
      INFO("seed " << seed << " member " << nd.id);
      CHECK(value == acked);
    }
  }
}
