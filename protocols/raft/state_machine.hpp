#pragma once
// StateMachine: what Raft replicates (DESIGN.md §7). REPLICATION applies committed commands in
// log order on every member; the result of apply() is returned to whoever submitted the command.
// Implementations must be deterministic: the same commands in the same order give the same
// state and results on every member (no clocks, no randomness, no iteration over unordered
// containers whose order can differ).
//
// Driving contract (what the connecting layer does for every committed entry, in log order):
//   1. if the entry carries a command for this machine: result = apply(ctx, command), and the
//      result goes back to the submitter (only the member that accepted the request needs it);
//   2. advance_time(ctx) — for every entry, commands or not (no-ops, configuration entries);
//   3. take_notifications() and deliver each to the member that owns its session (every member
//      computes the same notifications; each delivers only those for sessions it serves).
// Snapshots are taken and restored between entries, never during one.
//
// Loop affinity: all calls come from the owning channel's loop thread.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "stack/buffer.hpp"

namespace cohort {

/// Facts about the entry being applied, the same on every member.
struct ApplyContext {
  uint64_t index = 0;  ///< log index of the entry (fencing tokens use it)
  uint64_t term = 0;
  /// Cluster time in milliseconds: stamped into the log by the leader and never decreasing, so
  /// expiry (sessions, TTLs) is decided by the log, not by any member's own clock.
  uint64_t cluster_time_ms = 0;
  /// The client session that submitted the command (0: none). Filled in by
  /// SessionStateMachine for the machines it wraps; the Raft layer leaves it 0.
  uint64_t session_id = 0;
  /// Who opened that session (a member or client name, as given at open_session); empty when
  /// session_id is 0. Valid only during the call.
  std::string_view session_owner;
};

/// Something a state machine wants told to the owner of a session, produced while applying an
/// entry that the session did not submit (a lock granted to a waiter when its holder unlocks or
/// expires; a session that expired). Pulled with take_notifications().
struct Notification {
  uint64_t session_id = 0;  ///< the session to tell; its owner is the member to deliver to
  /// Which service produced it (ServiceRegistry fills this in; "" = the session layer itself).
  std::string service;
  Buffer payload;  ///< service-specific, decoded by that service's codec
};

/// Thrown by restore() for a snapshot that does not decode; the state is left unchanged.
class SnapshotError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
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
  /// Replaces the whole state with a snapshot. Throws SnapshotError (state unchanged) if the
  /// snapshot does not decode.
  virtual void restore(const Buffer& snapshot) = 0;
  /// Called after each applied entry with the new cluster time, so time-based expiry (lock
  /// sessions) can run deterministically even on entries that are not this machine's commands.
  virtual void advance_time(const ApplyContext& /*ctx*/) {}
  /// A client session ended (closed or expired) while applying the entry `ctx`: release what it
  /// held (locks, waits). Called by SessionStateMachine on the machine it wraps.
  virtual void session_closed(const ApplyContext& /*ctx*/, uint64_t /*session_id*/) {}
  /// Takes the notifications produced since the last call, in the order they were produced.
  virtual std::vector<Notification> take_notifications() { return {}; }
};

}  // namespace cohort
