// RaftHandle's administration calls on the simulated Raft stack, checked by their outcomes:
// add_server (the new member catches up as a learner, then is a voter), remove_server (gone
// from the configuration, the rest keeps committing, and the removed member's requests fail
// with not_member at once), transfer_leadership (the named member leads) and snapshot (the
// leader's log is compacted, and a member added afterwards catches up from the snapshot).
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "blocks/counter_codec.hpp"
#include "sim/blocks_cluster.hpp"
#include "sim/sim_seeds.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

bool has(const std::vector<std::string>& v, const std::string& id) {
  return std::find(v.begin(), v.end(), id) != v.end();
}

// A BlockCluster (A, B, C) plus members started later, not in members= (they wait to be added).
struct AdminCluster {
  BlockCluster c;
  std::vector<std::unique_ptr<BlockNode>> extra;

  explicit AdminCluster(uint64_t seed) : c(seed) {}

  BlockNode& join(const std::string& id) {
    auto n = std::make_unique<BlockNode>();
    n->id = id;
    n->rt = c.world.add_node(id);
    n->start(c.members);
    extra.push_back(std::move(n));
    return *extra.back();
  }
  std::vector<BlockNode*> all() {
    std::vector<BlockNode*> out;
    for (auto& nd : c.nodes)
      out.push_back(&nd);
    for (auto& nd : extra)
      out.push_back(nd.get());
    return out;
  }
  BlockNode* leader() {
    BlockNode* found = nullptr;
    uint64_t best = 0;
    for (auto* nd : all())
      if (nd->up()) {
        auto s = nd->status();
        if (s.role == raft::Role::leader && s.term >= best) found = nd, best = s.term;
      }
    return found;
  }
  BlockNode& node(const std::string& id) {
    for (auto* nd : all())
      if (nd->id == id) return *nd;
    FAIL("no member " << id);
    return c.nodes[0];
  }

  // RaftHandle::status, waited for.
  raft::RaftStatus status(BlockNode& nd) {
    std::optional<raft::RaftStatus> st;
    nd.handle->status([&](raft::RaftStatus s) { st = std::move(s); });
    REQUIRE(c.world.run_until([&] { return st.has_value(); }, 1s));
    return *st;
  }

  // add_server / remove_server on `nd`; a change still committing is retried.
  raft::ProposeOutcome change(BlockNode& nd, bool add, const std::string& id) {
    for (int attempt = 0; attempt < 100; ++attempt) {
      std::optional<raft::ProposeOutcome> out;
      auto done = [&](raft::ProposeOutcome o) { out = std::move(o); };
      if (add)
        nd.handle->add_server(id, done);
      else
        nd.handle->remove_server(id, done);
      REQUIRE(c.world.run_until([&] { return out.has_value(); }, 1s));
      if (out->error != "config_change_pending" && out->error != "leader_not_ready") return *out;
      c.world.run_for(50ms);
    }
    FAIL("configuration change never accepted");
    return {};
  }

  // Submits an increment of "n" on `nd` and waits for its result.
  std::error_code increment(BlockNode& nd, int64_t* value = nullptr, Duration timeout = 10s) {
    std::optional<std::error_code> err;
    nd.handle->submit(
        "counter", counter_codec::increment_and_get("n"),
        [&](std::error_code ec, Buffer r) {
          if (!ec && value) *value = counter_codec::decode_value(r).value;
          err = ec;
        },
        timeout);
    REQUIRE(c.world.run_until([&] { return err.has_value(); }, timeout + 5s));
    return *err;
  }

  int64_t stale_value(BlockNode& nd) {
    std::optional<int64_t> v;
    nd.handle->read("counter", counter_codec::get("n"), raft::ReadMode::stale,
                    [&](std::error_code ec, raft::ReadOutcome o) {
                      CHECK(!ec);
                      v = counter_codec::decode_value(o.result).value;
                    });
    REQUIRE(c.world.run_until([&] { return v.has_value(); }, 1s));
    return *v;
  }

  bool transfer(BlockNode& from, const std::string& to) {
    std::optional<bool> ok;
    from.handle->transfer_leadership(to, [&](bool r) { ok = r; });
    REQUIRE(c.world.run_until([&] { return ok.has_value(); }, 1s));
    return *ok;
  }
};

}  // namespace

TEST_CASE("RaftHandle admin: add_server, remove_server, transfer_leadership, snapshot, status") {
  for (uint64_t seed : sim_seeds(70, 4)) {
    INFO("seed " << seed);
    AdminCluster ac(seed);
    auto& w = ac.c.world;
    REQUIRE(w.run_until([&] { return ac.leader() != nullptr; }, 5s));
    int64_t n = 0;
    for (int i = 0; i < 10; ++i)
      REQUIRE(!ac.increment(ac.c.nodes[static_cast<size_t>(i % 3)], &n));
    CHECK(n == 10);

    // --- add_server: D waits outside the configuration, then joins as a learner, catches up,
    // and is promoted to voter.
    BlockNode& d = ac.join("D");
    w.run_for(300ms);
    raft::RaftStatus ds = ac.status(d);
    CHECK(ds.raft_id == "D");
    CHECK(ds.voters.empty());
    CHECK(ds.applied_index == 0);
    BlockNode* l = ac.leader();
    REQUIRE(l);
    BlockNode* f = nullptr;
    for (auto& nd : ac.c.nodes)
      if (&nd != l) f = &nd;
    raft::ProposeOutcome refused = ac.change(*f, true, "D");
    CHECK(refused.error == "not_leader");
    CHECK(refused.leader_hint == l->id);
    raft::Index leader_commit = ac.status(*l).commit_index;
    raft::ProposeOutcome added = ac.change(*l, true, "D");
    REQUIRE(added.ok());
    CHECK(added.index > leader_commit);
    // A configuration takes effect when appended: D is a learner now, not yet a voter.
    CHECK(has(l->status().learners, "D"));
    CHECK(!has(l->status().voters, "D"));
    bool saw_learner = false;
    raft::Index d_last_at_promotion = 0;
    REQUIRE(w.run_until(
        [&] {
          auto s = l->status();
          if (has(s.learners, "D")) saw_learner = true;
          if (!has(s.voters, "D")) return false;
          d_last_at_promotion = d.disk->last_index();
          return true;
        },
        10s));
    CHECK(saw_learner);
    CHECK(d_last_at_promotion >= added.index);  // caught up before it could vote
    REQUIRE(w.run_until([&] { return has(d.status().voters, "D"); }, 5s));
    raft::RaftStatus ls = ac.status(*l);
    CHECK(ls.voters.size() == 4);
    CHECK(ls.learners.empty());
    CHECK(ac.change(*l, true, "D").error == "member_exists");
    CHECK(ac.stale_value(d) == 10);  // D holds the state from before it joined
    REQUIRE(!ac.increment(d, &n));
    CHECK(n == 11);

    // --- remove_server: a follower other than D leaves; the rest keeps committing.
    BlockNode* x = nullptr;
    for (auto& nd : ac.c.nodes)
      if (&nd != l) x = &nd;
    raft::ProposeOutcome removed = ac.change(*l, false, x->id);
    REQUIRE(removed.ok());
    REQUIRE(w.run_until(
        [&] {
          auto s = l->status();
          return !has(s.voters, x->id) && !has(s.learners, x->id) &&
                 s.commit_index >= removed.index;
        },
        10s));
    CHECK(ac.status(*l).voters.size() == 3);
    // The removed member received the entry that removed it (the leader keeps replicating to
    // it until that entry commits).
    REQUIRE(w.run_until([&] { return !has(x->status().voters, x->id); }, 5s));
    for (auto* nd : ac.all())
      if (nd != x) {
        REQUIRE(!ac.increment(*nd, &n));
      }
    CHECK(n == 14);

    // --- not_member: the removed member's request fails at once, not after CLIENT's timeout.
    Duration asked = w.now();
    std::error_code err = ac.increment(*x, nullptr, 30s);
    CHECK(err == raft::ClientErrc::not_member);
    CHECK(w.now() - asked < 1s);
    CHECK(ac.status(*l).commit_index >= removed.index);

    // --- transfer_leadership to D: refused on a follower and for a non-member, then D leads.
    BlockNode* other = nullptr;
    for (auto* nd : ac.all())
      if (nd != l && nd != x && nd != &d) other = nd;
    REQUIRE(other);
    CHECK(!ac.transfer(*other, "D"));  // not the leader
    CHECK(!ac.transfer(*l, "Z"));      // not a voter
    CHECK(!ac.transfer(*l, x->id));    // removed
    REQUIRE(ac.transfer(*l, "D"));
    REQUIRE(w.run_until([&] { return d.status().role == raft::Role::leader; }, 5s));
    REQUIRE(w.run_until(
        [&] {
          for (auto* nd : {l, other, &d})
            if (nd->handle->leader() != "D") return false;
          return true;
        },
        5s));
    CHECK(d.handle->is_leader());
    CHECK(!l->handle->is_leader());
    CHECK(d.handle->term() > ls.term);
    REQUIRE(!ac.increment(*l, &n));  // the old leader forwards to D
    CHECK(n == 15);

    // --- snapshot on D: its log is compacted up to what it applied.
    raft::RaftStatus before = ac.status(d);
    CHECK(d.disk->first_index() == 1);
    uint64_t snapshots = d.ch->stack().find("REPLICATION")->stat("snapshots");
    std::optional<bool> snapped;
    d.handle->snapshot([&](bool ok) { snapped = ok; });
    REQUIRE(w.run_until([&] { return snapped.has_value(); }, 1s));
    REQUIRE(*snapped);
    CHECK(d.ch->stack().find("REPLICATION")->stat("snapshots") == snapshots + 1);
    CHECK(d.disk->snapshot_meta().last_index >= before.applied_index);
    CHECK(d.disk->first_index() == d.disk->snapshot_meta().last_index + 1);
    raft::RaftStatus after = ac.status(d);
    CHECK(after.role == raft::Role::leader);
    CHECK(after.applied_index >= before.applied_index);
    // A member added now cannot get the compacted entries: it catches up from the snapshot.
    BlockNode& e = ac.join("E");
    REQUIRE(ac.change(d, true, "E").ok());
    REQUIRE(w.run_until([&] { return has(d.status().voters, "E"); }, 10s));
    CHECK(e.disk->snapshot_meta().last_index >= before.applied_index);
    REQUIRE(!ac.increment(e, &n));
    CHECK(n == 16);
    REQUIRE(w.run_until([&] { return e.status().applied_index >= d.status().commit_index; }, 5s));
    CHECK(ac.stale_value(e) == 16);
  }
}
