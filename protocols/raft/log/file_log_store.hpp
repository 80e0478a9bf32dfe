#pragma once
// FileLogStore: the durable LogStore (DESIGN.md §6, issue 5). One directory holds
//   LOCK                      flock'ed for the store's lifetime: one process per directory
//   meta                      term and vote (state_files.hpp), replaced atomically
//   snapshot                  the latest snapshot, replaced atomically
//   <first index>.log         segments of CRC-checked records (segment.hpp)
//
// Group commit: append() writes records into the page cache (no fsync); sync() fdatasyncs every
// segment touched since the previous sync, so one fsync covers any number of appends.
//
// Threading: as LogStore says, every call comes from the loop thread except sync(), which may
// run on a writer thread meanwhile. So the segments, the in-memory index and the snapshot are
// loop-thread state and take no lock; only what sync() shares (the files to flush, the highest
// written index, the durable index, a failure) sits behind a mutex held for a few instructions
// on either side and never across an fdatasync. That keeps a busy loop thread from starving the
// writer thread (and vice versa). first_index(), last_index(), durable_index() and log_bytes()
// may be read from any thread.
//
// Durability beyond sync(): a conflict truncation (append below last_index) and a snapshot's
// compaction are made durable before they return, so a crash can never bring removed records
// back behind newer ones. Reads of the newest entries come from memory (TailCache: what this
// store wrote a moment ago); older reads come from the segments and re-check each record's CRC.
//
// Crash recovery (constructor): every record of every segment is CRC-checked (one segment is
// read into memory at a time, so opening needs up to segment_bytes of memory). Damage at the end
// of the last segment with no valid record after it is a torn write: it is cut off, reported in
// recovery_report() and on stderr. Any other damage (a bad record followed by a valid one, a bad
// record in an earlier segment, a gap in the indexes) is corruption of data that was once
// durable: the constructor refuses with a StoreError naming the file and offset.
//
// After an I/O error that may have lost written data (a failed fdatasync, or a failed append
// that could not be rolled back) the store is poisoned: every later call throws StoreError.
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "protocols/raft/log/file_io.hpp"
#include "protocols/raft/log/log_store.hpp"
#include "protocols/raft/log/segment.hpp"
#include "protocols/raft/log/tail_cache.hpp"

namespace cohort::raft {

struct FileLogOptions {
  /// A segment is closed and a new one started once the next record would take it past this
  /// size (an entry larger than this gets a segment of its own). Range 4 KiB .. 1 GiB.
  uint64_t segment_bytes = uint64_t{64} << 20;
  /// When > 0, the last segment is grown ahead of its records by writing zeros, this many bytes
  /// at a time (capped at segment_bytes), so that most appends overwrite allocated blocks and
  /// their fdatasync need not commit a new file size: on ext4 that turns a journal commit per
  /// sync into a plain data flush (measured here: p50 ~100 us instead of 0.15..4 ms, and no
  /// multi-millisecond p90 when other processes write). A full segment is cut back to its
  /// records before the next one starts, so only the last segment can have a zero tail, which
  /// recovery then takes for the end of the log (not a torn write). 0: grow by appending.
  uint64_t preallocate_bytes = 0;
  /// Entry data of the newest entries kept in memory for reads (tail_cache.hpp); 0: none. The
  /// default covers REPLICATION's default pipelining window, so AppendEntries to followers that
  /// keep up and applying what was just committed never read the files.
  uint64_t tail_cache_bytes = uint64_t{8} << 20;
};

class FileLogStore final : public LogStore {
 public:
  /// Opens (creating if needed) and recovers the store in `dir`. Throws StoreError if the
  /// directory is locked by another store, unreadable, or corrupt other than at its tail.
  explicit FileLogStore(std::string dir, FileLogOptions options = {});
  ~FileLogStore() override;

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

  /// On-disk bytes of the entries after the snapshot, record headers (25 bytes each) included.
  uint64_t log_bytes() const override;

  /// What recovery had to repair when the store was opened ("" when it found a clean log):
  /// torn tails cut off, leftover files removed, segments dropped behind a snapshot.
  const std::string& recovery_report() const { return recovery_report_; }
  const std::string& dir() const { return dir_; }
  /// Segment files currently in use (for tests and probes).
  size_t segment_count() const;
  /// Reads served from the tail cache / from the segment files (for tests and probes).
  uint64_t cached_reads() const { return cached_reads_; }
  uint64_t file_reads() const { return file_reads_; }
  /// fdatasync calls on segment files since the store was opened, recovery's not counted (any
  /// thread). Group commit shows here: one sync() flushes each touched segment once, however
  /// many appends it covers.
  uint64_t segment_syncs() const { return segment_syncs_.load(std::memory_order_relaxed); }

 private:
  struct Segment {
    Index first = 0;                      ///< index of its first record (from its name)
    std::vector<segment::Loc> locs;       ///< locs[i] describes entry first + i
    std::shared_ptr<file_io::File> file;  ///< shared: an in-flight sync() may still hold it
    uint64_t bytes = 0;                   ///< end of the last record
    uint64_t allocated = 0;  ///< the file's size: bytes, or more with a preallocated zero tail
    Index last() const { return first + locs.size() - 1; }
  };

  void lock_dir();
  void recover();
  void note(std::string what);
  std::string segment_path(Index first) const;

  // Loop thread (or the constructor).
  void check_usable() const;
  /// Marks the store unusable (any thread; takes mutex_).
  void poison(const std::exception& e);
  const Segment& segment_of(Index i) const;
  /// Term of an entry held in a segment (ignores the snapshot).
  Term log_term(Index i) const;
  /// Term of i as term_at() defines it, without the range check.
  Term term_of(Index i) const;
  /// Starts segment `next` (making the current one durable first) and returns it.
  Segment& roll(Index next);
  void write_records(Segment& seg, const std::vector<uint8_t>& bytes,
                     const std::vector<segment::Loc>& locs);
  /// Grows seg's file with zeros so that `end` and up to preallocate_bytes more are allocated.
  void preallocate(Segment& seg, uint64_t end);
  /// Cuts seg's file back to its records (drops a preallocated zero tail).
  void trim(Segment& seg);
  /// Removes entries >= from from disk and memory; `durable` also fsyncs the result (needed
  /// before new records may replace the removed ones).
  void drop_suffix(Index from, bool durable);
  void drop_segments_through(Index upto);
  void remove_back_segment();
  uint64_t bytes_from(const Segment& seg, Index from) const;
  void recount_log_bytes();
  /// With mutex_ held: adds a file to the set the next sync() flushes.
  void add_dirty_locked(const std::shared_ptr<file_io::File>& file);

  const std::string dir_;
  const FileLogOptions options_;
  std::unique_ptr<file_io::File> lock_file_;
  std::string recovery_report_;

  // Loop-thread state.
  HardState hard_state_;
  TailCache tail_;
  mutable uint64_t cached_reads_ = 0;
  mutable uint64_t file_reads_ = 0;
  std::deque<Segment> segments_;
  SnapshotMeta snapshot_;
  std::atomic<Index> first_index_ = 1;
  std::atomic<Index> last_index_ = 0;
  std::atomic<uint64_t> log_bytes_ = 0;
  std::atomic<uint64_t> segment_syncs_ = 0;

  // Shared with sync().
  mutable std::mutex sync_mutex_;                            ///< one sync() at a time
  mutable std::mutex mutex_;                                 ///< guards the members below
  std::vector<std::shared_ptr<file_io::File>> dirty_files_;  ///< written since the last sync
  bool dir_dirty_ = false;   ///< a segment was created since the last sync
  Index written_index_ = 0;  ///< last index whose record is written and its file in dirty_files_
  Index durable_index_ = 0;
  /// Lowest index removed (truncation, snapshot discard) since the running sync() took its
  /// snapshot of the state: that sync must not publish a durable index at or above it.
  Index removed_from_ = ~Index{0};
  std::string failure_;
  std::atomic<bool> failed_ = false;  ///< failure_ is set: every call throws
};

}  // namespace cohort::raft
