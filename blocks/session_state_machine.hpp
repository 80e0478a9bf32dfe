#pragma once
// SessionStateMachine: exactly-once commands through client sessions (Ongaro's thesis §6.3).
// A decorator: it wraps any StateMachine (typically a ServiceRegistry) and expects every
// command to be a session Envelope (session_envelope.hpp).
//
// Guarantees, all decided from the log alone (identical on every member):
//  - A command (session, seq) is applied to the wrapped machine at most once. A retry of a
//    sequence already applied returns the cached result, byte for byte, without applying.
//  - Results are cached per session until the client acknowledges them (acked_seq in any later
//    envelope of the session); a retry of an acknowledged sequence gets stale_sequence.
//    At most SessionConfig::max_results_per_session unacknowledged results per session: beyond
//    that a new command is rejected (session_cache_full) and NOT applied — never silently
//    evicted, which would break exactly-once.
//  - A session expires when cluster_time_ms - last activity > session_timeout_ms, where
//    activity is any entry of that session (open, keep_alive, command). Expiry is checked at
//    every apply() and advance_time(), before the entry's own command. After expiry (or
//    close) the wrapped machine gets session_closed() — locks are released then, never
//    earlier — the owner gets a Notification (service "", payload empty), and the session's
//    further commands get session_expired.
//  - The session id is the log index of its open_session entry (unique, never reused).
//  - A command with session 0 is passed through without deduplication.
//  - Anything that does not decode as an envelope gets malformed and changes nothing.
//
// SessionConfig must be the same on every member (it is part of the replicated semantics).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "blocks/block_status.hpp"
#include "blocks/session_envelope.hpp"
#include "blocks/session_table.hpp"
#include "blocks/state_machine.hpp"

namespace cohort {

struct SessionConfig {
  /// A session with no entry for longer than this (cluster time) expires.
  uint64_t session_timeout_ms = 30'000;
  /// open_session beyond this many live sessions is rejected (too_many_sessions).
  uint64_t max_sessions = 65'536;
  /// Unacknowledged cached results per session; a command beyond it gets session_cache_full.
  uint64_t max_results_per_session = 1'024;
};

/// Counters for probing; local, not part of the replicated state.
struct SessionStats {
  uint64_t opened = 0;
  uint64_t closed = 0;
  uint64_t expired = 0;
  uint64_t applied = 0;     ///< commands passed to the wrapped machine
  uint64_t duplicates = 0;  ///< retries answered from the cache
  uint64_t rejected = 0;    ///< malformed, expired, stale or over a limit
};

class SessionStateMachine : public StateMachine {
 public:
  /// Wraps `inner` (not null), which it owns.
  SessionStateMachine(std::unique_ptr<StateMachine> inner, SessionConfig config = {});

  Buffer apply(const ApplyContext& ctx, const Buffer& command) override;
  /// Passed to the wrapped machine unchanged (reads need no session).
  Buffer query(const Buffer& query) const override { return inner_->query(query); }
  /// The session table followed by the wrapped machine's snapshot.
  Buffer snapshot() const override;
  void restore(const Buffer& snapshot) override;
  /// Expires sessions at ctx.cluster_time_ms, then advances the wrapped machine.
  void advance_time(const ApplyContext& ctx) override;
  /// Session-expired notifications and the wrapped machine's, in the order produced.
  std::vector<Notification> take_notifications() override;

  StateMachine& inner() { return *inner_; }
  const StateMachine& inner() const { return *inner_; }
  const SessionTable& sessions() const { return sessions_; }
  const SessionConfig& config() const { return config_; }
  const SessionStats& stats() const { return stats_; }

 private:
  void expire_sessions(const ApplyContext& ctx);
  void end_session(const ApplyContext& ctx, uint64_t id);
  void drain_inner();
  Buffer apply_command(const ApplyContext& ctx, const Envelope& e);
  Buffer reject(BlockStatus status);

  std::unique_ptr<StateMachine> inner_;
  SessionConfig config_;
  SessionTable sessions_;
  SessionStats stats_;
  std::vector<Notification> notifications_;
};

}  // namespace cohort
