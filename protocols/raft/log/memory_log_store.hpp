#pragma once
// MemoryLogStore: the LogStore contract held in memory, for tests and the simulator. It also
// models a disk: it keeps the image that a completed sync() made durable, and crash() reverts
// the log to that image, dropping every append and truncation made since (hard state and
// snapshots are durable on save, as the contract says).
//
// Thread-safe: every call takes one mutex, so sync() may run on a writer thread.
#include <deque>
#include <mutex>

#include "protocols/raft/log/log_store.hpp"

namespace cohort::raft {

class MemoryLogStore : public LogStore {
 public:
  MemoryLogStore() = default;

  void save_hard_state(const HardState& hs) override;
  HardState hard_state() const override;

  Index first_index() const override;
  Index last_index() const override;
  Term term_at(Index i) const override;
  std::vector<Entry> entries(Index from, Index to, size_t max_bytes) const override;

  void append(std::span<const Entry> entries) override;
  Index sync() override;
  Index durable_index() const override;

  void save_snapshot(const SnapshotMeta& meta, const Buffer& data) override;
  std::optional<std::pair<SnapshotMeta, Buffer>> load_snapshot() const override;
  SnapshotMeta snapshot_meta() const override;

  uint64_t log_bytes() const override;

  /// Simulated power loss: the log reverts to what the last completed sync() made durable.
  void crash();
  /// Whether entry (i, t) would survive a crash now (indexes covered by the snapshot count as
  /// held). For simulation checks.
  bool durably_holds(Index i, Term t) const;

 private:
  Index last_locked() const { return snap_.last_index + entries_.size(); }
  const Entry& at_locked(Index i) const { return entries_[i - snap_.last_index - 1]; }
  Term term_locked(Index i) const;
  void truncate_locked(Index from);

  mutable std::mutex mu_;
  HardState hard_state_;
  SnapshotMeta snap_;
  Buffer snap_data_;
  /// entries_[k].index == snap_.last_index + 1 + k.
  std::deque<Entry> entries_;
  uint64_t bytes_ = 0;
  /// The durable image is entries_ up to durable_, then stale_ (synced entries that were since
  /// truncated but whose removal is not yet durable), consecutive from durable_ + 1.
  Index durable_ = 0;
  std::deque<Entry> stale_;
};

}  // namespace cohort::raft
