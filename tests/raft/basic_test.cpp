// Basic behaviour: election, replication, commit, apply, restart.
#include "raft/harness.hpp"

using namespace cohort::raft;
using namespace cohort::raft::test;

TEST_CASE("basic: a campaign elects a leader that replicates and commits") {
  Harness h({"A", "B", "C"});
  h.campaign("A");
  REQUIRE(h.leader() == "A");
  CHECK(h.node("A").term_state().term == 1);
  REQUIRE(h.propose("A", "x").ok());
  REQUIRE(h.propose("A", "y").ok());
  h.deliver_all();
  h.tick_all(2);  // a heartbeat carries the commit index to the followers
  for (auto id : {"A", "B", "C"}) {
    CHECK(h.member(id).applied == std::vector<std::string>{"x", "y"});
    CHECK(h.node(id).term_state().leader == "A");
  }
  CHECK(h.node("B").propose(bytes("z")).error == ProposeError::not_leader);
}

TEST_CASE("basic: timers elect a leader and a single server elects itself") {
  Harness h({"A", "B", "C"});
  h.tick_all(40);
  CHECK(!h.leader().empty());
  Harness one({"S"});
  one.tick_all(25);
  CHECK(one.leader() == "S");
  REQUIRE(one.propose("S", "x").ok());
  CHECK(one.member("S").applied == std::vector<std::string>{"x"});
}

TEST_CASE("basic: a restarted follower recovers its log and catches up") {
  Harness h({"A", "B", "C"});
  h.campaign("A");
  for (int i = 0; i < 5; ++i)
    h.propose("A", "c" + std::to_string(i));
  h.deliver_all();
  h.crash("C");
  h.propose("A", "late");
  h.deliver_all();
  h.restart("C");
  CHECK(h.node("C").log_info().last_index >= 6);
  h.tick_all(4);
  CHECK(h.member("C").applied == h.member("A").applied);
  CHECK(h.member("A").applied.size() == 6);
}

TEST_CASE("basic: leadership transfer hands over to a caught-up voter") {
  Harness h({"A", "B", "C"});
  h.campaign("A");
  h.propose("A", "x");
  h.deliver_all();
  REQUIRE(h.node("A").transfer_leadership("B"));
  h.process("A");
  h.deliver_all();
  CHECK(h.leader() == "B");
  CHECK(h.node("B").term_state().term == 2);
  CHECK_FALSE(h.node("B").transfer_leadership("Z"));
}

TEST_CASE("basic: leader_lost() starts an election within a few ticks") {
  Harness h({"A", "B", "C"});
  h.campaign("A");
  h.tick_all(2);
  h.crash("A");
  // Without the hint B and C wait a whole randomized timeout (10..20 ticks) before pre-voting.
  h.node("B").leader_lost("A");
  h.node("C").leader_lost("A");
  h.node("B").leader_lost("nobody");  // not our leader: ignored
  int ticks = 0;
  while (h.leader().empty() && ticks < 30) {
    h.tick_all(1);
    ++ticks;
  }
  CHECK(!h.leader().empty());
  // Before the 10-tick minimum timeout: the hint's grace (10 / 3 ticks after A's last message)
  // plus at most a stagger of 5 and one election round.
  CHECK(ticks < 10);
}

TEST_CASE("basic: leader_lost() from a wrong view does not depose a leader that is still heard") {
  Harness h({"A", "B", "C"});
  h.campaign("A");
  h.tick_all(2);
  const Term term = h.node("A").term_state().term;
  // A view that missed A (a discovery view at start-up, a false suspicion): A keeps sending
  // heartbeats, which cancel the hint before its grace ends, and keeps the lease of B and C.
  h.node("B").leader_lost("A");
  h.node("C").leader_lost("A", 0u);
  h.tick_all(40);
  CHECK(h.leader() == "A");
  CHECK(h.node("A").term_state().term == term);
  CHECK(h.node("B").term_state().term == term);
  CHECK(h.node("C").term_state().term == term);
}

TEST_CASE("basic: learners and servers outside the configuration never campaign") {
  Harness h({"A", "B", "C"});
  h.add("L");  // empty bootstrap: not a member yet
  h.tick_all(200);
  CHECK(h.node("L").term_state().term == 0);
  CHECK(h.node("L").term_state().role == Role::follower);
}
