#pragma once
// raft::Node: ElectionCore + ReplicationCore wired together through their ports, with one Ready
// output, for the simulator, scenario tests and tools. The ELECTION and REPLICATION stack
// protocols do the same wiring through events, each owning one core.
//
// Driving a Node (single-threaded; `store` is the LogStore the node was built on):
//   node.tick() every tick, node.step(msg) for every message addressed to it, then
//   Ready rd = node.take_ready() and, in this order:
//     1. if rd.hard_state: store.save_hard_state(*rd.hard_state)   — durable before step 2 (§3.8)
//     2. send rd.messages
//     3. if rd.needs_sync: run store.sync() (may be asynchronous, batched with later syncs) and
//        call node.on_durable(index) when it completes — followers acknowledge entries only then
//     4. if rd.snapshot: restore the state machine from it; then apply rd.committed in order
//     5. if rd.term_state: the term, role or leader changed (LEADER_CHANGED)
#include <optional>
#include <string>
#include <vector>

#include "protocols/raft/core/election.hpp"
#include "protocols/raft/core/replication.hpp"

namespace cohort::raft {

struct NodeOptions {
  ElectionOptions election;
  ReplicationOptions replication;
};

struct Ready {
  std::optional<HardState> hard_state;
  std::vector<Message> messages;
  bool needs_sync = false;
  std::optional<std::pair<SnapshotMeta, Buffer>> snapshot;
  std::vector<Entry> committed;
  std::optional<TermState> term_state;
};

class Node {
 public:
  /// Restores term/vote, log and snapshot from `store` (which outlives the node). `seed` seeds
  /// the election timer jitter.
  Node(std::string id, LogStore& store, Configuration bootstrap, uint64_t seed,
       NodeOptions options = {});
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  void tick();
  /// Any message addressed to this node; others are ignored.
  void step(const Message& m);

  ProposeResult propose(Buffer command);
  ProposeResult add_server(const std::string& id);
  ProposeResult remove_server(const std::string& id);
  bool transfer_leadership(const std::string& target) {
    return election_.transfer_leadership(target);
  }
  void leader_lost(const std::string& leader, std::optional<unsigned> rank = std::nullopt) {
    election_.leader_lost(leader, rank);
  }
  void campaign() { election_.campaign_now(); }
  void take_snapshot(Index index, Buffer data) { replication_.take_snapshot(index, data); }
  void on_durable(Index index) { replication_.on_durable(index); }

  Ready take_ready();

  const std::string& id() const { return election_.id(); }
  TermState term_state() const { return election_.term_state(); }
  LogInfo log_info() const { return replication_.log_info(); }
  bool is_leader() const { return term_state().role == Role::leader; }
  const ElectionCore& election() const { return election_; }
  const ReplicationCore& replication() const { return replication_; }

 private:
  ProposeResult check_leader() const;

  ElectionCore election_;
  ReplicationCore replication_;
  TermState reported_;
};

}  // namespace cohort::raft
