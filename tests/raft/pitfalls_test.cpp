// One named scenario per known Raft pitfall (DESIGN §8, issue 5). Scripted: messages are
// delivered, filtered and dropped explicitly, so each test reads as the story it checks.
#include "raft/harness.hpp"

using namespace cohort::raft;
using namespace cohort::raft::test;

namespace {
bool is_append_from(const Message& m, const std::string& from) {
  return m.from == from && std::holds_alternative<AppendRequest>(m.body);
}
Term term_of(Harness& h, const std::string& id) {
  return h.node(id).term_state().term;
}
}  // namespace

// Thesis §3.6.2, Figure 3.7: a leader must not commit an entry of an earlier term by counting
// replicas, even when a majority holds it: a later leader may still overwrite it.
TEST_CASE("pitfall: Figure 8 — earlier-term entries are not committed by counting") {
  NodeOptions o = quiet_options(false, false);
  o.replication.max_append_entries = 1;
  Harness h({"S1", "S2", "S3", "S4", "S5"}, o);
  h.campaign("S1");
  REQUIRE(h.leader() == "S1");  // term 1, no-op at index 1 committed everywhere
  h.tick_all(2);
  // (a) S1 replicates index 2 (term 1) to S2 only.
  for (auto id : {"S3", "S4", "S5"})
    h.cut("S1", id);
  REQUIRE(h.propose("S1", "x").ok());
  h.deliver_all();
  CHECK(h.node("S2").log_info().last_index == 2);
  // (b) S1 crashes; S5 wins term 2 with S3, S4 and appends index 2 (term 2) only locally.
  h.crash("S1");
  h.filter = [](const Message& m) { return !is_append_from(m, "S5"); };
  h.cut("S5", "S2");
  h.campaign("S5");
  REQUIRE(h.leader() == "S5");
  CHECK(h.node("S5").log_info().last_term == 2);
  h.crash("S5");
  h.heal();
  h.filter = nullptr;
  // (c) S1 restarts and wins term 3; it replicates index 2 (term 1) to S3, S4 — a majority with
  // itself — but its own no-op (index 3) is held back.
  h.restart("S1");
  // (S3 and S4 reject the first probe, which carries index 3, as their logs are too short.)
  h.filter = [&h](const Message& m) {
    auto* a = std::get_if<AppendRequest>(&m.body);
    bool has_noop = a && !a->entries.empty() && a->entries.back().index >= 3;
    return !(has_noop && (!h.member(m.to).up || h.node(m.to).log_info().last_index >= 2));
  };
  h.campaign("S1");
  if (h.leader() != "S1") h.campaign("S1");  // the first try only learned the newer term
  REQUIRE(h.leader() == "S1");
  h.tick_all(1);
  for (auto id : {"S3", "S4"}) {
    CHECK(h.node(id).log_info().last_index == 2);
    CHECK(h.node(id).log_info().last_term == 1);
    CHECK(h.node("S1").replication().progress(id)->match == 2);
  }
  // Index 2 is durable on S1, S3, S4 (and S2): a majority of five, but from term 1. Not committed.
  CHECK(h.node("S1").replication().commit_index() < 2);
  // (d) S1 crashes; S5 (last term 2) wins and overwrites index 2 everywhere: had S1 committed
  // "x", a committed entry would now be lost.
  h.crash("S1");
  h.filter = nullptr;
  h.restart("S5");
  h.campaign("S5");
  if (h.leader() != "S5") h.campaign("S5");
  REQUIRE(h.leader() == "S5");
  h.tick_all(3);
  for (auto id : {"S2", "S3", "S4", "S5"}) {
    CHECK(h.node(id).replication().commit_index() >= 2);
    CHECK(h.member(id).applied.empty());  // "x" was never applied anywhere
    CHECK(h.store(id).term_at(2) == 2);
  }
}

// Errata to the single-server membership change (Ongaro, raft-dev 2015): a leader must not
// append a configuration entry until it has committed an entry of its own term, or two leaders
// of different terms can make disjoint configuration changes and lose committed entries.
TEST_CASE("pitfall: single-server membership bug — no config change before a current-term commit") {
  Harness h({"A", "B", "C"});
  h.filter = [](const Message& m) { return !is_append_from(m, "A"); };
  h.campaign("A");
  REQUIRE(h.leader() == "A");
  // The no-op of term 1 is not committed yet: membership changes are refused, nothing changes.
  auto before = h.node("A").replication().configuration();
  CHECK(h.node("A").add_server("D").error == ProposeError::leader_not_ready);
  CHECK(h.node("A").remove_server("C").error == ProposeError::leader_not_ready);
  CHECK(h.node("A").replication().configuration() == before);
  CHECK(h.node("A").log_info().last_index == 1);
  h.filter = nullptr;
  h.tick_all(2);
  REQUIRE(h.node("A").replication().commit_index() == 1);
  REQUIRE(h.node("A").add_server("D").ok());
  // One change at a time (§4.1): the next waits until this one commits.
  CHECK(h.node("A").add_server("E").error == ProposeError::config_change_pending);
  CHECK(h.node("A").remove_server("B").error == ProposeError::config_change_pending);
  CHECK(h.node("A").add_server("A").error == ProposeError::config_change_pending);
}

// §4.1: a configuration takes effect as soon as it is appended and reverts if that entry is
// removed by a conflicting leader.
TEST_CASE("pitfall: configuration reverts when its entry is truncated") {
  Harness h({"A", "B", "C", "D", "E"}, quiet_options(false, false));
  h.campaign("A");
  h.tick_all(2);
  Configuration original = h.node("B").replication().configuration();
  for (auto id : {"C", "D", "E"})
    h.cut("A", id);
  REQUIRE(h.node("A").add_server("F").ok());
  h.process("A");
  h.deliver_all();
  // B appended it: in effect on B although uncommitted.
  CHECK(h.node("B").replication().configuration().is_learner("F"));
  CHECK(h.node("A").replication().commit_index() < h.node("A").log_info().last_index);
  h.isolate("A");
  h.campaign("C");
  REQUIRE(h.leader() == "C");
  h.tick_all(2);
  // C's no-op overwrote B's configuration entry: B's configuration reverted.
  CHECK(h.node("B").replication().configuration() == original);
  CHECK(h.node("B").replication().configuration_index() == 0);
  CHECK(h.store("B").term_at(2) == 2);
}

// §4.2.3: a removed server that does not know it was removed times out and asks for votes; the
// others ignore it while they hear from the leader.
TEST_CASE("pitfall: a removed server does not disrupt the cluster") {
  for (bool pre_vote : {true, false}) {
    CAPTURE(pre_vote);
    Harness h({"A", "B", "C"}, quiet_options(pre_vote, true));
    h.campaign("A");
    h.tick_all(2);
    h.isolate("C");
    REQUIRE(h.node("A").remove_server("C").ok());
    h.process("A");
    h.tick_all(2);
    REQUIRE(!h.node("A").replication().configuration().contains("C"));
    CHECK(h.node("C").replication().configuration().contains("C"));  // C never learned it
    h.heal();
    h.tick_all(200);
    CHECK(h.leader() == "A");
    CHECK(term_of(h, "A") == 1);
    CHECK(term_of(h, "B") == 1);
    if (pre_vote) CHECK(term_of(h, "C") == 1);  // pre-votes never succeed, so no term bumps
    REQUIRE(h.propose("A", "still-working").ok());
    h.tick_all(2);
    CHECK(h.member("B").applied.back() == "still-working");
  }
}

// §6.2 check-quorum and §9.6 pre-vote: an isolated leader steps down within an election timeout
// and, when it returns, does not disrupt the new leader.
TEST_CASE("pitfall: pre-vote + check-quorum — an isolated leader steps down, rejoins quietly") {
  Harness h({"A", "B", "C"});
  h.campaign("A");
  h.isolate("A");
  // Check-quorum rounds last one minimum election timeout (10 ticks); the round in which A was
  // isolated still saw B and C, the next one sees nobody.
  h.tick_all(20);
  CHECK(h.node("A").term_state().role == Role::follower);  // lost its quorum
  h.tick_all(60);
  std::string l = h.leader();
  REQUIRE((l == "B" || l == "C"));
  Term t = term_of(h, l);
  CHECK(term_of(h, "A") == 1);  // pre-votes failed, the term never moved
  h.heal();
  h.tick_all(100);
  CHECK(h.leader() == l);
  CHECK(term_of(h, l) == t);
  CHECK(term_of(h, "A") == t);
}

// Partial connectivity: C cannot reach the leader but can reach B. Without pre-vote and the
// lease, C would keep raising the term and depose a working leader.
TEST_CASE("pitfall: pre-vote + check-quorum — partial connectivity keeps the leader") {
  Harness h({"A", "B", "C"});
  h.campaign("A");
  h.cut("A", "C");
  h.tick_all(200);
  CHECK(h.leader() == "A");
  for (auto id : {"A", "B", "C"})
    CHECK(term_of(h, id) == 1);
  REQUIRE(h.propose("A", "x").ok());
  h.tick_all(2);
  CHECK(h.member("B").applied == std::vector<std::string>{"x"});
}

// §3.8: the vote is durable before the response leaves; after a crash the server does not vote
// again in the same term.
TEST_CASE("pitfall: persisting before replying — no double vote after a crash") {
  // The Ready carries the vote in its hard state together with the response it justifies.
  MemoryLogStore store;
  Node b("B", store, make_configuration({"A", "B", "C"}), 1, quiet_options(false, false));
  b.step(Message{"A", "B", VoteRequest{1, 0, 0, false, false}});
  Ready rd = b.take_ready();
  REQUIRE(rd.hard_state);
  CHECK(*rd.hard_state == HardState{1, "A"});
  REQUIRE(rd.messages.size() == 1);
  CHECK(std::get<VoteResponse>(rd.messages[0].body).granted);

  // In a cluster: B votes for A in term 1, crashes before A hears back, restarts, and refuses C.
  Harness h({"A", "B", "C"}, quiet_options(false, false));
  h.cut("A", "C");
  h.filter = [](const Message& m) { return !std::holds_alternative<VoteResponse>(m.body); };
  h.campaign("A");
  CHECK(h.store("B").hard_state() == HardState{1, "A"});
  h.crash("B");
  h.restart("B");
  h.filter = nullptr;
  h.heal();
  h.cut("A", "B");
  h.cut("A", "C");
  h.campaign("C");  // term 1 as well: C never heard of A
  CHECK(term_of(h, "C") == 1);
  CHECK(h.leader() == "");
  CHECK(h.store("B").hard_state() == HardState{1, "A"});
}

// §3.5: a stale or reordered AppendEntries must not truncate entries, and a gap is rejected with
// a hint; followers acknowledge only durable entries.
TEST_CASE("pitfall: stale and reordered AppendEntries") {
  MemoryLogStore store;
  Node b("B", store, make_configuration({"A", "B", "C"}), 1, quiet_options());
  auto entries = [](Index from, Index to, Term t) {
    std::vector<Entry> v;
    for (Index i = from; i <= to; ++i)
      v.push_back(Entry{t, i, EntryType::command, bytes("e")});
    return v;
  };
  auto response = [&]() -> std::optional<AppendResponse> {
    Ready rd = b.take_ready();
    if (rd.hard_state) store.save_hard_state(*rd.hard_state);
    for (auto& m : rd.messages) {
      if (auto* r = std::get_if<AppendResponse>(&m.body)) return *r;
    }
    return std::nullopt;
  };
  b.step(Message{"A", "B", AppendRequest{1, 0, 0, 0, entries(1, 3, 1)}});
  CHECK_FALSE(response());  // not durable yet: no acknowledgement
  b.on_durable(store.sync());
  auto r = response();
  REQUIRE(r);
  CHECK((r->success && r->match == 3));
  // A stale copy of the first request arrives late: nothing is truncated.
  b.step(Message{"A", "B", AppendRequest{1, 0, 0, 0, entries(1, 1, 1)}});
  r = response();
  REQUIRE(r);
  CHECK((r->success && r->match == 1));
  CHECK(store.last_index() == 3);
  // A request that overtook its predecessor leaves a gap: rejected with the hint.
  b.step(Message{"A", "B", AppendRequest{1, 5, 1, 0, entries(6, 6, 1)}});
  r = response();
  REQUIRE(r);
  CHECK_FALSE(r->success);
  CHECK(r->reject_index == 5);
  CHECK(r->conflict_index == 4);
  CHECK(r->conflict_term == 0);
  // A request from a deposed leader (older term) is refused with the current term.
  b.step(Message{"C", "B", AppendRequest{2, 3, 1, 0, {}}});
  response();
  b.step(Message{"A", "B", AppendRequest{1, 3, 1, 3, entries(4, 4, 1)}});
  r = response();
  REQUIRE(r);
  CHECK_FALSE(r->success);
  CHECK(r->term == 2);
  CHECK(store.last_index() == 3);
}

// §3.5: a follower sets its commit index from the leader's only within the prefix the request
// verified, never from its own possibly stale tail.
TEST_CASE("pitfall: commit index from the verified prefix only") {
  MemoryLogStore store;
  Node b("B", store, make_configuration({"A", "B", "C"}), 1, quiet_options());
  std::vector<Entry> old;
  for (Index i = 1; i <= 5; ++i)
    old.push_back(Entry{1, i, EntryType::command, bytes("old")});
  b.step(Message{"A", "B", AppendRequest{1, 0, 0, 0, old}});
  b.on_durable(store.sync());
  b.take_ready();
  // New leader C of term 2 has 1..3 of term 1 and its own 4 (term 2); commit index 4. A heartbeat
  // verifying only up to 3 must not let B commit its stale entry 4 of term 1.
  b.step(Message{"C", "B", AppendRequest{2, 3, 1, 4, {}}});
  Ready rd = b.take_ready();
  CHECK(b.replication().commit_index() == 3);
  CHECK(rd.committed.size() == 3);
  b.step(Message{"C", "B", AppendRequest{2, 3, 1, 4, {Entry{2, 4, EntryType::noop, {}}}}});
  b.take_ready();
  CHECK(b.replication().commit_index() == 4);
  CHECK(store.term_at(4) == 2);
  CHECK(store.last_index() == 4);  // the stale tail was truncated at the conflict
}

// §5.1 / Figure 5.3: the leader compacted the entries a lagging follower needs; it sends the
// snapshot in chunks, with heartbeats in between, then continues with entries.
TEST_CASE("pitfall: leader compacting past a lagging follower sends InstallSnapshot") {
  NodeOptions o = quiet_options();
  o.replication.snapshot_chunk_size = 8;
  Harness h({"A", "B", "C"}, o);
  h.campaign("A");
  h.isolate("C");
  for (int i = 0; i < 20; ++i)
    h.propose("A", "cmd" + std::to_string(i));
  h.tick_all(2);
  h.snapshot("A");
  REQUIRE(h.store("A").first_index() > 2);
  Term t = term_of(h, "A");
  h.heal();
  size_t chunks = 0;
  h.filter = [&chunks](const Message& m) {
    chunks += std::holds_alternative<SnapshotRequest>(m.body) ? 1 : 0;
    return true;
  };
  h.tick_all(60);
  CHECK(chunks > 10);  // 20 commands × 6 bytes in 8-byte chunks
  CHECK(h.member("C").applied == h.member("A").applied);
  CHECK(h.member("C").applied.size() == 20);
  CHECK(term_of(h, "C") == t);  // heartbeats kept flowing: no election during the transfer
  REQUIRE(h.propose("A", "after").ok());
  h.tick_all(2);
  CHECK(h.member("C").applied.back() == "after");
}

// A follower that restarts in the middle of an InstallSnapshot loses the chunks it held in
// memory; the leader resumes from where the follower says it is (the start) and completes.
TEST_CASE("pitfall: restart during InstallSnapshot") {
  NodeOptions o = quiet_options();
  o.replication.snapshot_chunk_size = 8;
  Harness h({"A", "B", "C"}, o);
  h.campaign("A");
  h.isolate("C");
  for (int i = 0; i < 20; ++i)
    h.propose("A", "cmd" + std::to_string(i));
  h.tick_all(2);
  h.snapshot("A");
  h.heal();
  // Deliver until C holds part of the snapshot.
  bool restarted = false;
  for (int i = 0; i < 200 && !restarted; ++i) {
    for (auto id : {"A", "B", "C"})
      h.tick(id);
    while (!h.queue.empty()) {
      const Message& m = h.queue.front();
      auto* s = std::get_if<SnapshotRequest>(&m.body);
      if (s && m.to == "C" && s->offset >= 40 && !s->done) {
        h.queue.pop_front();
        h.crash("C");
        h.restart("C");
        restarted = true;
        break;
      }
      h.deliver_one();
    }
  }
  REQUIRE(restarted);
  CHECK(h.member("C").applied.empty());
  CHECK(h.store("C").snapshot_meta().last_index == 0);
  h.tick_all(100);
  CHECK(h.member("C").applied == h.member("A").applied);
  CHECK(h.store("C").snapshot_meta().last_index > 0);
}

// §4.2.1: a new server joins as a learner (not counted in quorums) and is promoted once caught
// up; §4.2.2: a leader that removes itself steps down once that change commits.
TEST_CASE("membership: learner promotion, and a removed leader steps down") {
  Harness h({"A", "B", "C"});
  h.add("D");
  h.campaign("A");
  for (int i = 0; i < 5; ++i)
    h.propose("A", "c" + std::to_string(i));
  h.tick_all(2);
  REQUIRE(h.node("A").add_server("D").ok());
  h.process("A");
  CHECK(h.node("A").replication().configuration().is_learner("D"));
  h.tick_all(4);
  CHECK(h.node("A").replication().configuration().is_voter("D"));
  CHECK(h.member("D").applied == h.member("A").applied);
  REQUIRE(h.node("A").remove_server("A").ok());
  h.process("A");
  h.tick_all(3);
  CHECK(h.node("A").term_state().role == Role::follower);
  h.tick_all(60);
  std::string l = h.leader();
  CHECK((l == "B" || l == "C" || l == "D"));
  CHECK_FALSE(h.node(l).replication().configuration().contains("A"));
}
