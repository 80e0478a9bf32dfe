#pragma once
// ELECTION: the stack protocol around ElectionCore (terms, votes, roles, pre-vote, check-quorum,
// leadership transfer; thesis §3.4, §9.6, §6.2, §3.10). It sits below REPLICATION, which wires
// the two cores together with a raft_attach event when it starts. ELECTION ticks its core on a
// runtime timer, claims messages carrying its header, and emits LEADER_CHANGED up the stack.
// A view that drops the known leader is a hint to start an election sooner (DESIGN.md §6).
#include <memory>

#include "protocols/raft/raft_events.hpp"
#include "stack/protocol.hpp"

namespace cohort::raft {

class ElectionCore;
struct Message;

class ElectionProtocol : public Protocol {
 public:
  ElectionProtocol();
  ~ElectionProtocol() override;
  void init() override;
  void stop() override;
  void up(cohort::Message& msg) override;
  void up(cohort::MessageBatch& batch) override;
  std::any up(Event& ev) override;
  std::any down(Event& ev) override;

 private:
  ElectionAttachment attach(RaftAttach* a);
  void tick();
  void handle(const cohort::Message& msg);
  /// Persist hard state, send messages, report leader changes (in that order).
  void flush();
  void send(const raft::Message& m);

  Duration tick_interval_{10ms};
  Duration election_min_{150ms};
  Duration election_max_{300ms};
  bool pre_vote_ = true;
  bool check_quorum_ = true;
  bool view_hint_ = true;

  std::unique_ptr<ElectionCore> core_;
  RaftAttach attach_;
  TermState reported_;
  TimerHandle timer_;
  uint64_t& elections_;
  uint64_t& malformed_;
};

}  // namespace cohort::raft
