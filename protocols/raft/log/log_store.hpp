#pragma once
// LogStore: where a member keeps its Raft log, term/vote and latest snapshot. Two
// implementations: MemoryLogStore (tests, the simulator) and FileLogStore (segmented, CRC per
// entry, group commit). Stores are picked by name (`log="memory|file"`) through make_log_store.
//
// Threading contract: every call comes from the owning channel's loop thread, except sync(),
// which the REPLICATION protocol runs on a writer thread so the loop keeps going while the disk
// flushes (group commit: one sync covers every append made before it started). sync() may
// therefore run concurrently with append()/entries()/truncate; implementations make that safe.
//
// Errors (full disk, I/O error, corruption) are thrown as StoreError; the caller reports them
// and stops using the store. Nothing is silently dropped.
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocols/raft/log/entry.hpp"

namespace cohort::raft {

class StoreError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class LogStore {
 public:
  virtual ~LogStore() = default;

  /// Durable on return (fsync). Called before answering a vote or accepting a higher term.
  virtual void save_hard_state(const HardState& hs) = 0;
  virtual HardState hard_state() const = 0;

  /// Index of the first entry kept (snapshot.last_index + 1 after compaction; 1 when empty).
  virtual Index first_index() const = 0;
  /// Index of the last entry (snapshot.last_index when no entries follow it; 0 when empty).
  virtual Index last_index() const = 0;
  /// Term of the entry at i; i == snapshot last_index gives the snapshot's last_term; 0 for i==0.
  /// Precondition: first_index()-1 <= i <= last_index().
  virtual Term term_at(Index i) const = 0;
  /// Entries [from, to] (inclusive), stopping early once max_bytes of data are collected (at
  /// least one entry is returned when from <= to). Precondition: first_index() <= from.
  virtual std::vector<Entry> entries(Index from, Index to, size_t max_bytes) const = 0;

  /// Appends entries whose indexes are consecutive; entries[0].index <= last_index()+1. Any
  /// existing entries at or after entries[0].index are removed first (conflict truncation).
  /// Not durable until sync() covers it.
  virtual void append(std::span<const Entry> entries) = 0;
  /// Makes every append made before this call durable. Returns the durable last index.
  virtual Index sync() = 0;
  /// The highest index known durable (monotone except after truncation below it).
  virtual Index durable_index() const = 0;

  /// Stores a snapshot durably, then discards entries up to meta.last_index (keeping any later
  /// entries whose term matches; otherwise the whole log is discarded).
  virtual void save_snapshot(const SnapshotMeta& meta, const Buffer& data) = 0;
  virtual std::optional<std::pair<SnapshotMeta, Buffer>> load_snapshot() const = 0;
  virtual SnapshotMeta snapshot_meta() const = 0;  ///< last_index 0 when there is none

  /// Bytes of entries currently held (for max_log_size-triggered snapshots).
  virtual uint64_t log_bytes() const = 0;
};

/// `kind` is "memory" or "file"; `dir` is the folder for the file store (locked exclusively).
std::unique_ptr<LogStore> make_log_store(const std::string& kind, const std::string& dir);

}  // namespace cohort::raft
