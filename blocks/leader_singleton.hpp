#pragma once
// LeaderSingleton: runs a user service only on the Raft leader (jgroups-raft's "singleton
// service"): `start(term)` when this member becomes leader, `stop()` when it stops being leader
// (a new leader elsewhere, a step-down by check-quorum, a crash of the channel) or when the
// singleton is destroyed.
//
//   LeaderSingleton s(handle, [](raft::Term t) { scheduler.start(t); }, [] { scheduler.stop(); });
//
// What you can rely on:
//  - start and stop alternate (start, stop, start, ...), both on the channel's loop, each
//    promptly after the leader change that causes it; start gets the leader's term.
//  - NOT "at most one running in the cluster": an old leader that does not yet know it was
//    deposed (partitioned, paused) keeps running until it hears of it — at most about an
//    election timeout with check-quorum. A service that acts on shared state must fence its
//    actions, e.g. with the term passed to start (larger term wins) or a Lock's token.
//
// Threads: callbacks run on the loop; construct from any thread; destroy on the loop (stop()
// is then called if running) or after the channel is closed (stop() is then not called).
// The RaftHandle must outlive the singleton.
#include <functional>
#include <memory>

#include "blocks/raft_handle.hpp"

namespace cohort {

class LeaderSingleton {
 public:
  using Start = std::function<void(raft::Term term)>;
  using Stop = std::function<void()>;

  LeaderSingleton(RaftHandle& handle, Start start, Stop stop);
  ~LeaderSingleton();
  LeaderSingleton(const LeaderSingleton&) = delete;
  LeaderSingleton& operator=(const LeaderSingleton&) = delete;

  /// Whether the service runs here (loop thread only).
  bool running() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
  RaftHandle& handle_;
};

}  // namespace cohort
