#pragma once
// REPLICATION: the stack protocol around ReplicationCore (log, AppendEntries with batching and
// pipelining, commit, apply, snapshots, membership; thesis ch. 3–5, §10.2). It owns the log store
// and the state machine hook, wires itself to ELECTION (below) with raft_attach when it starts,
// and serves proposals from CLIENT and the blocks above through raft_events.hpp.
//
// Durability (§3.8, §10.2.1): appends are buffered in the store; one sync at a time (group
// commit: it covers every append made before it began) and its completion calls on_durable().
// The leader's sync runs off the loop, which meanwhile serves clients and followers. A
// follower's sync runs on its loop (follower_sync_on_loop): it could only wait for it before
// acknowledging, and the two thread wake-ups it saves are on every commit's critical path;
// AppendEntries that arrive meanwhile are appended together and share the next sync.
// Term/vote are persisted synchronously before any message is sent.
//
// Cluster time: the leader stamps every command with a cluster time in ms that continues from
// the last applied stamp, so time-based expiry (sessions, locks) is decided by the log, not by
// any member's clock. Entries carry [u64 cluster_time_ms][command].
#include <memory>
#include <optional>
#include <vector>

#include "protocols/raft/core/config.hpp"
#include "protocols/raft/raft_events.hpp"
#include "stack/protocol.hpp"

namespace cohort {
class StateMachine;
}

namespace cohort::raft {

class ReplicationCore;
class LogStore;
struct Message;
struct ProposeResult;

class ReplicationProtocol : public Protocol {
 public:
  ReplicationProtocol();
  ~ReplicationProtocol() override;
  void init() override;
  void start() override;
  void stop() override;
  void up(cohort::Message& msg) override;
  void up(cohort::MessageBatch& batch) override;
  std::any up(Event& ev) override;
  std::any down(Event& ev) override;

  const std::string& raft_id() const { return raft_id_; }
  /// Uses `store` instead of opening one from the `log`/`log_dir` attributes (before start).
  /// The simulator passes a MemoryLogStore that outlives crashes and restarts.
  void use_store(std::shared_ptr<LogStore> store) { injected_store_ = std::move(store); }

 private:
  void open();
  void tick();
  void handle(const cohort::Message& msg);
  /// After any change: election flush, replication flush + send, sync, apply, auto-snapshot.
  void drive();
  /// drive() once the proposals queued in this loop turn are in (see propose()).
  void drive_soon();
  void send(const raft::Message& m);
  void send_all(std::vector<raft::Message> msgs);
  /// Appends this loop turn's staged proposals with one log write (see propose()).
  void append_staged();
  void maybe_sync();
  /// One sync of everything appended so far: on the loop (run_blocking) or off it (offload).
  void start_sync(bool on_loop);
  void apply_committed();
  void maybe_snapshot();
  void fail(const std::string& what);
  ProposeOutcome propose(Buffer command);
  ProposeOutcome outcome(const ProposeResult& r) const;
  RaftStatus status() const;
  uint64_t next_stamp();

  // attributes
  std::string members_;
  std::string raft_id_;
  std::string log_ = "memory";
  std::string log_dir_;
  Duration tick_interval_{10ms};
  Duration heartbeat_interval_{30ms};
  uint64_t max_log_size_ = 64u << 20;
  uint64_t max_append_entries_ = 256;
  uint64_t max_append_bytes_ = 1u << 20;
  uint64_t max_inflight_bytes_ = 8u << 20;
  uint64_t snapshot_chunk_size_ = 256u << 10;
  bool multicast_append_ = false;
  bool follower_sync_on_loop_ = true;

  Configuration bootstrap_;
  std::shared_ptr<LogStore> store_;
  std::shared_ptr<LogStore> injected_store_;
  std::unique_ptr<ReplicationCore> core_;
  AddressBook addresses_;
  RaftAttach attach_;
  ElectionAttachment election_;
  StateMachine* sm_ = nullptr;
  TimerHandle timer_;
  bool sync_in_flight_ = false;
  bool sync_posted_ = false;    ///< a follower's sync waits for the end of this loop turn
  std::vector<Buffer> staged_;  ///< proposals of this loop turn, appended by the next drive
  Term staged_term_ = 0;
  Index staged_first_ = 0;  ///< the index promised to the first staged proposal
  bool driving_ = false;
  bool drive_again_ = false;
  bool drive_posted_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  ///< guards posted drives
  std::string error_;             ///< set when the log store failed; the member stops taking part
  uint64_t cluster_time_ms_ = 0;  ///< from the last applied stamp
  Index sm_applied_ = 0;          ///< last entry applied to the state machine
  std::optional<Duration> leader_contact_;  ///< when the leader's last append/snapshot came
  // Leader stamping: cluster_time continues from base at leadership start.
  uint64_t stamp_base_ms_ = 0;
  Duration stamp_epoch_{0};
  uint64_t last_stamp_ = 0;
  bool was_leader_ = false;

  uint64_t& proposals_;
  uint64_t& applied_;
  uint64_t& syncs_;
  uint64_t& snapshots_;
  uint64_t& malformed_;
  uint64_t& multicasts_;
  bool multicast_ = false;  ///< multicast_append and the transport can multicast
};

}  // namespace cohort::raft
