#pragma once
// The small published interface between the two Raft cores (DESIGN.md §6). ElectionCore owns
// term, vote and role; ReplicationCore owns the log, commit and configuration. Each core talks to
// the other only through the port it is given, never through the other's class:
//
//   ReplicationCore --ElectionPort-->    ElectionCore   (heard_from_leader, observed_term, ...)
//   ElectionCore    --ReplicationPort--> ReplicationCore (log_info, became_leader, ...)
//
// raft::Node wires the two cores directly; the ELECTION and REPLICATION stack protocols wire them
// through events carrying the same calls. All calls are synchronous, on the owning loop thread,
// and may call back into the caller (e.g. heard_from_leader() → became_follower()); each core is
// written so that such a re-entrant call leaves it consistent.
#include <string>

#include "protocols/raft/core/config.hpp"
#include "protocols/raft/log/entry.hpp"

namespace cohort::raft {

enum class Role : uint8_t { follower, pre_candidate, candidate, leader };

const char* role_name(Role r);

/// Read-only view of ElectionCore's state.
struct TermState {
  Term term = 0;
  Role role = Role::follower;
  std::string leader;  ///< raft id of the known leader of `term`, empty when unknown
  friend bool operator==(const TermState&, const TermState&) = default;
};

/// Read-only view of ReplicationCore's log.
struct LogInfo {
  Index last_index = 0;
  Term last_term = 0;
  Index commit_index = 0;
  /// The latest configuration in the log, committed or not (§4.1: it takes effect when appended).
  const Configuration* configuration = nullptr;
  /// The configuration before the latest one while the latest is uncommitted; otherwise the
  /// latest. A voter of either may campaign (§4.2.2: a removed leader that lost leadership
  /// before its removal committed must still be electable, or the cluster can get stuck).
  const Configuration* previous_configuration = nullptr;
};

/// What ReplicationCore may ask of / tell the election side.
class ElectionPort {
 public:
  virtual ~ElectionPort() = default;
  virtual TermState term_state() const = 0;
  /// An AppendEntries/InstallSnapshot with term >= ours arrived from `leader` (§3.4): adopt the
  /// term if newer, become/stay follower, reset the election timer.
  virtual void heard_from_leader(Term term, const std::string& leader) = 0;
  /// A response carried a newer term (§3.3): step down and adopt it.
  virtual void observed_term(Term term) = 0;
  /// Leader only: `id` answered in the current term (check-quorum §6.2, transfer §3.10).
  virtual void peer_active(const std::string& id) = 0;
  /// Leader only: the leader's removal committed (§4.2.2): step down, do not campaign.
  virtual void step_down() = 0;
};

/// What ElectionCore may ask of / tell the replication side.
class ReplicationPort {
 public:
  virtual ~ReplicationPort() = default;
  virtual LogInfo log_info() const = 0;
  /// Leader only: `id` holds every entry of the leader's log (leadership transfer, §3.10).
  virtual bool caught_up(const std::string& id) const = 0;
  /// This server won the election for `term` (§3.4): start replicating, append the no-op.
  virtual void became_leader(Term term) = 0;
  /// Term or leader changed while not leader (leader may be empty: unknown).
  virtual void became_follower(Term term, const std::string& leader) = 0;
};

}  // namespace cohort::raft
