#pragma once
// ReplicationCore: the pure log half of Raft (thesis §3.5–§3.7, chapter 4, chapter 5, §10.2). It
// owns the log (over a LogStore), AppendEntries with batching and pipelining, the commit index,
// apply order, snapshots with chunked InstallSnapshot, and single-server membership changes. It
// reads the term and role through an ElectionPort and tells the election side what it hears.
//
// Pure and single-threaded: no clock (tick()), no I/O except the LogStore given to it, on which it
// calls append() (buffered, not durable), save_snapshot() and the readers; never sync().
//
// Ordering contract (the driver enforces the rest):
//  1. Entries are appended to the store by the core itself; the driver makes them durable with
//     LogStore::sync() (asynchronously, group commit) whenever needs_sync(), and reports each
//     completed sync with on_durable(). A follower acknowledges only durable entries: the
//     success response for entries is produced by on_durable(), never before (§3.8).
//  2. The leader's own append runs in parallel with replication (§10.2.1): the leader counts its
//     own durable index, not its last index, towards the commit quorum.
//  3. Messages taken from take_messages() may depend on the term/vote: persist the election
//     core's hard state first.
//  4. take_apply() hands out a snapshot to restore (if any) and then committed entries, in index
//     order, each exactly once per incarnation; the driver applies them in that order.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocols/raft/core/messages.hpp"
#include "protocols/raft/core/ports.hpp"
#include "protocols/raft/core/progress.hpp"
#include "protocols/raft/log/log_store.hpp"

namespace cohort::raft {

struct ReplicationOptions {
  size_t max_append_entries = 64;           ///< entries per AppendEntries
  size_t max_append_bytes = 1u << 20;       ///< entry data bytes per AppendEntries
  size_t max_inflight_bytes = 4u << 20;     ///< per follower, replicate mode (pipelining window)
  size_t snapshot_chunk_size = 256u << 10;  ///< bytes per InstallSnapshot chunk
  uint32_t heartbeat_interval_ticks = 2;    ///< leader heartbeats (< election timeout min)
  size_t max_apply_bytes = 4u << 20;        ///< entry data bytes per take_apply()
};

/// Why a proposal was refused. The state is unchanged when a call fails.
enum class ProposeError : uint8_t {
  none,
  not_leader,
  transferring,           ///< a leadership transfer is under way (§3.10)
  config_change_pending,  ///< the latest configuration entry is not committed yet (§4.1)
  leader_not_ready,       ///< errata: no entry of the leader's term is committed yet
  member_exists,
  not_a_member,
  last_voter,  ///< removing the only voter
};
const char* propose_error_name(ProposeError e);

struct ProposeResult {
  Index index = 0;
  ProposeError error = ProposeError::none;
  bool ok() const { return error == ProposeError::none; }
};

/// What take_apply() hands to the state machine, in this order.
struct ApplyBatch {
  std::optional<std::pair<SnapshotMeta, Buffer>> snapshot;  ///< restore first
  std::vector<Entry> entries;  ///< then apply these (every type; commands matter)
};

class ReplicationCore final : public ReplicationPort {
 public:
  /// `bootstrap` is the configuration at index 0, used until the log or a snapshot holds one
  /// (empty for a server that joins later). The store is read to restore the log.
  ReplicationCore(std::string id, LogStore& store, Configuration bootstrap,
                  ReplicationOptions options);

  void set_election(ElectionPort* election) { election_ = election; }

  void tick();
  /// Replication messages only (AppendRequest/Response, SnapshotRequest/Response).
  void step(const Message& m);

  /// Leader: appends a command; replicated at the next flush().
  ProposeResult propose(Buffer command);
  /// Appends several commands with one store append (one write); the first one's index.
  ProposeResult propose_batch(std::vector<Buffer> commands);
  /// Leader: single-server changes (§4.1). add_server adds a learner that is promoted to voter
  /// once caught up (§4.2.1); remove_server removes a voter or learner.
  ProposeResult add_server(const std::string& id);
  ProposeResult remove_server(const std::string& id);

  /// The state machine's snapshot as of `index` (<= applied index): stored durably and the log
  /// compacted up to it (§5.1). No-op if a snapshot at or past `index` exists already.
  void take_snapshot(Index index, Buffer data);
  /// A LogStore::sync() completed; acknowledgements and the leader's commit may advance.
  void on_durable(Index synced_index);
  /// Sends what the followers are due (batched appends, snapshot chunks). Call before
  /// take_messages(); raft::Node does it in take_ready().
  void flush();

  std::vector<Message> take_messages() { return std::exchange(messages_, {}); }
  ApplyBatch take_apply();
  /// Appended entries are not yet durable: the driver should schedule LogStore::sync().
  bool needs_sync() const { return store_.durable_index() < store_.last_index(); }

  Index commit_index() const { return commit_; }
  Index applied_index() const { return applied_; }
  Index last_index() const { return store_.last_index(); }
  const Configuration& configuration() const { return configs_.back().second; }
  /// Index of the latest configuration entry (0 or the snapshot index if from there).
  Index configuration_index() const { return configs_.back().first; }
  bool is_leader() const { return leader_; }
  /// Leader: the follower's progress (tests, diagnostics); nullptr if unknown.
  const Progress* progress(const std::string& id) const;

  // ReplicationPort
  LogInfo log_info() const override;
  bool caught_up(const std::string& id) const override;
  void became_leader(Term term) override;
  void became_follower(Term term, const std::string& leader) override;

 private:
  struct PendingAck {  // follower: verified entries waiting for durability
    std::string leader;
    Term term = 0;
    Index upto = 0;
  };
  struct IncomingSnapshot {  // follower: chunks received so far (§5, Figure 5.3)
    Index last_index = 0;
    Term last_term = 0;
    Buffer config;
    uint64_t total_bytes = 0;
    std::vector<uint8_t> data;
  };

  Term term() const { return election_->term_state().term; }
  Term term_at(Index i) const;
  void send(const std::string& to, MessageBody body);
  Index append_local(EntryType type, Buffer data);

  // replication_append.cpp
  void handle_append(const std::string& from, const AppendRequest& m);
  void handle_append_response(const std::string& from, const AppendResponse& m);
  void reject_append(const std::string& from, const AppendRequest& m);
  /// `appended`: this request stored new entries (a sync for them is about to start).
  void acknowledge(const std::string& leader, Index verified, bool appended);
  void send_append(const std::string& id, Progress& pr);
  void send_heartbeats();
  void maybe_commit();
  Index next_after_rejection(const Progress& pr, const AppendResponse& m) const;

  // replication_snapshot.cpp
  void send_snapshot_chunk(const std::string& id, Progress& pr);
  void handle_snapshot(const std::string& from, const SnapshotRequest& m);
  void handle_snapshot_response(const std::string& from, const SnapshotResponse& m);
  void install_snapshot(const IncomingSnapshot& in);

  // replication_config.cpp
  ProposeResult check_config_change() const;
  void append_config(const Configuration& c);
  void track_config(const Entry& e);
  void revert_configs(Index from);
  void rebuild_configs();
  Configuration config_at(Index i) const;
  void sync_progress();
  void after_commit();

  const std::string id_;
  LogStore& store_;
  const Configuration bootstrap_;
  const ReplicationOptions options_;
  ElectionPort* election_ = nullptr;

  bool leader_ = false;
  std::string leader_id_;  ///< follower: current leader (for deferred acknowledgements)
  Index commit_ = 0;
  Index applied_ = 0;
  bool restore_pending_ = false;  ///< a snapshot must be handed to the state machine
  /// Configuration history: [0] is the base (snapshot or bootstrap), then every config entry
  /// still in the log, in index order. back() is in effect (§4.1).
  std::vector<std::pair<Index, Configuration>> configs_;

  std::map<std::string, Progress> progress_;  ///< leader: every other member
  uint32_t heartbeat_elapsed_ticks_ = 0;
  std::optional<std::pair<SnapshotMeta, Buffer>> snapshot_cache_;  ///< leader: being sent

  std::optional<PendingAck> pending_ack_;
  std::optional<IncomingSnapshot> incoming_;

  std::vector<Message> messages_;
};

}  // namespace cohort::raft
