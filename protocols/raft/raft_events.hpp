#pragma once
// The published interface between the Raft protocols (ELECTION, REPLICATION, CLIENT) and the
// blocks above them (DESIGN.md §6). Protocols never include each other's classes: they exchange
// these events. Every call happens on the channel's loop.
//
//   REPLICATION --raft_attach (down)--> ELECTION   wires the two pure cores' ports together
//   ELECTION    --leader_changed (up)-->           LeaderChanged, seen by CLIENT and the channel
//   CLIENT/blocks --raft_propose (down)--> REPLICATION   returns ProposeOutcome
//   REPLICATION --raft_applied (up)-->             every applied command with its result
//   blocks --raft_set_state_machine (down)--> REPLICATION
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <system_error>
#include "protocols/raft/core/ports.hpp"
#include "stack/address.hpp"
#include "stack/buffer.hpp"
#include "stack/event.hpp"
#include "stack/runtime.hpp"

namespace cohort {
class StateMachine;
}

namespace cohort::raft {

namespace raft_event {
enum : int {
  attach = event::raft + 0,               ///< down, arg RaftAttach*, returns ElectionAttachment
  propose = event::raft + 1,              ///< down, arg ProposeRequest, returns ProposeOutcome
  applied = event::raft + 2,              ///< up, arg Applied
  set_state_machine = event::raft + 3,    ///< down, arg StateMachine*
  status = event::raft + 4,               ///< down, returns RaftStatus
  membership = event::raft + 5,           ///< down, arg MembershipChange, returns ProposeOutcome
  transfer_leadership = event::raft + 6,  ///< down, arg std::string target, returns bool
  snapshot_now = event::raft + 7,         ///< down, no arg, returns bool
  address_of = event::raft + 8,           ///< down, arg std::string raft id, returns Address
  leader_hint = event::raft + 9,          ///< down (ELECTION), arg std::string lost leader
  query = event::raft + 10,               ///< down, arg Buffer query, returns QueryResult
  notification = event::raft + 11,        ///< up, arg Notification (state machine → sessions)
  // CLIENT's own API (blocks → CLIENT), see protocols/raft/client_protocol.hpp
  client_submit = event::raft + 20,  ///< down, arg ClientSubmit
  client_read = event::raft + 21,    ///< down, arg ClientRead
};
}  // namespace raft_event

/// Resolves raft ids to channel addresses (and back); owned by REPLICATION, shared with
/// ELECTION. A raft id with no known address is sent as a group message that only the member
/// with that id accepts.
class AddressBook {
 public:
  void learn(const std::string& raft_id, const Address& a);
  /// Null address when unknown.
  Address find(const std::string& raft_id) const;
  std::string raft_id_of(const Address& a) const;

 private:
  std::vector<std::pair<std::string, Address>> entries_;
};

/// Sent down by REPLICATION when it starts.
struct RaftAttach {
  std::string raft_id;
  HardState restored;
  ReplicationPort* replication = nullptr;
  AddressBook* addresses = nullptr;
  /// Persists term/vote durably (fsync) before returning.
  std::function<void(const HardState&)> persist;
  /// Lets REPLICATION flush, send, sync and apply after the election side changed something.
  std::function<void()> drive_replication;
};

/// Returned by ELECTION for raft_attach.
struct ElectionAttachment {
  ElectionPort* election = nullptr;
  /// Persists the election core's hard state if changed, then sends its messages. REPLICATION
  /// calls it before sending anything of its own (ordering contract: term/vote durable first).
  std::function<void()> flush_election;
  /// True while a leadership transfer is under way (proposals are refused).
  std::function<bool()> transferring;
};

/// Up: the leader or the term changed (leader empty = unknown).
struct LeaderChanged {
  std::string leader;
  Term term = 0;
  Role role = Role::follower;
};

struct ProposeRequest {
  Buffer command;
};

struct ProposeOutcome {
  Index index = 0;
  Term term = 0;
  /// "" on success, else the ProposeError name (not_leader, transferring, ...).
  std::string error;
  std::string leader_hint;  ///< raft id of the leader if known
  bool ok() const { return error.empty(); }
};

struct Applied {
  Index index = 0;
  Term term = 0;
  Buffer result;
};

struct MembershipChange {
  bool add = true;
  std::string raft_id;
};

/// A read-only query answered by this member's state machine as it is now.
struct QueryResult {
  Buffer result;
  Index applied_index = 0;
  Index commit_index = 0;        ///< as known to this member
  uint64_t last_contact_ms = 0;  ///< see ReadOutcome
};

/// How a read is served (CLIENT, thesis §6.4).
enum class ReadMode : uint8_t {
  linearizable,  ///< ReadIndex: the leader confirms its term with a majority; no log write
  lease,         ///< the leader skips confirmation within lease_duration of the last one:
                 ///< unsafe if a process pauses or clocks drift by more than the margin
  stale,         ///< this member's state as it is, with how stale it is
};

/// Blocks → CLIENT: replicate `command` and return its result (any member; forwarded).
struct ClientSubmit {
  Buffer command;
  Duration timeout{0};  ///< 0 = the protocol's `timeout`
  std::function<void(std::error_code, Buffer result, Index index)> done;
};

struct ReadOutcome {
  Buffer result;
  Index applied_index = 0;  ///< the state the result was read from
  Index commit_lag = 0;     ///< committed entries (known here) not yet applied here
  /// Stale reads: milliseconds since this member last heard from a leader of its term (0 on
  /// the leader; never_contacted before any). A cut-off follower cannot know what it missed,
  /// so this is its staleness bound (as Consul's X-Consul-LastContact). 0 for other modes.
  uint64_t last_contact_ms = 0;
  static constexpr uint64_t never_contacted = ~uint64_t{0};
};

/// Blocks → CLIENT: run a read-only query against the replicated state.
struct ClientRead {
  Buffer query;
  ReadMode mode = ReadMode::linearizable;
  Duration timeout{0};
  std::function<void(std::error_code, ReadOutcome)> done;
};

struct RaftStatus {
  std::string raft_id;
  std::string leader;
  Term term = 0;
  Role role = Role::follower;
  Index commit_index = 0;
  Index applied_index = 0;
  Index last_index = 0;
  Index durable_index = 0;
  std::vector<std::string> voters, learners;
  std::string error;  ///< a log store failure that stopped this member, if any
  /// Leader: an entry of the current term is committed, so commit_index is up to date (a
  /// ReadIndex may be served, thesis §6.4).
  bool commit_in_term = false;
};

}  // namespace cohort::raft
