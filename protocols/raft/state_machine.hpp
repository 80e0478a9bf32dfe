#pragma once
// StateMachine: what Raft replicates (DESIGN.md §7). REPLICATION applies committed commands in
// log order on every member; the result of apply() is returned to whoever submitted the command.
// Implementations must be deterministic: the same commands in the same order give the same
// state and results on every member (no clocks, no randomness, no iteration over unordered
// containers whose order can differ).
//
// Loop affinity: all calls come from the owning channel's loop thread.
#include <cstdint>

#include "stack/buffer.hpp"

namespace cohort {

/// Facts about the entry being applied, the same on every member.
struct ApplyContext {
  uint64_t index = 0;  ///< log index of the entry (fencing tokens use it)
  uint64_t term = 0;
  /// Cluster time in milliseconds: stamped into the log by the leader and never decreasing, so
  /// expiry (sessions, TTLs) is decided by the log, not by any member's own clock.
  uint64_t cluster_time_ms = 0;
};

class StateMachine {
 public:
  virtual ~StateMachine() = default;
  /// Applies one committed command and returns its result.
  virtual Buffer apply(const ApplyContext& ctx, const Buffer& command) = 0;
  /// Answers a read-only query against the current state (no log entry).
  virtual Buffer query(const Buffer& query) const = 0;
  /// Serialises the whole state (log compaction, InstallSnapshot).
  virtual Buffer snapshot() const = 0;
  /// Replaces the whole state with a snapshot.
  virtual void restore(const Buffer& snapshot) = 0;
  /// Called after each applied entry with the new cluster time, so time-based expiry (lock
  /// sessions) can run deterministically even on entries that are not this machine's commands.
  virtual void advance_time(const ApplyContext& /*ctx*/) {}
};

}  // namespace cohort
