#include "protocols/raft/log/file_log_store.hpp"

#include <fcntl.h>
#include <fmt/core.h>

#include <algorithm>
#include <cerrno>
#include <mutex>

#include "protocols/raft/log/state_files.hpp"

namespace cohort::raft {
namespace {

constexpr uint64_t min_segment_bytes = 4096;
constexpr uint64_t max_segment_bytes = uint64_t{1} << 30;

/// Programmer errors (broken preconditions) are logic_errors, never StoreErrors: the caller
/// must not mistake its own bug for a disk problem.
void require(bool ok, const char* what) {
  if (!ok) throw std::logic_error(std::string("FileLogStore: ") + what);
}

}  // namespace

FileLogStore::FileLogStore(std::string dir, FileLogOptions options)
    : dir_(std::move(dir)), options_(options), tail_(options.tail_cache_bytes) {
  require(
      options_.segment_bytes >= min_segment_bytes && options_.segment_bytes <= max_segment_bytes,
      "segment_bytes must be within 4 KiB .. 1 GiB");
  file_io::make_dirs(dir_);
  lock_dir();
  recover();
}

// Closing the files releases the flock; appends not covered by a sync() are not promised.
FileLogStore::~FileLogStore() = default;

void FileLogStore::check_usable() const {
  if (failed_.load(std::memory_order_acquire)) {
    std::lock_guard lock(mutex_);
    throw StoreError("log store " + dir_ + " is unusable after an earlier error: " + failure_);
  }
}

void FileLogStore::poison(const std::exception& e) {
  std::lock_guard lock(mutex_);
  if (!failed_.load()) {
    failure_ = e.what();
    failed_.store(true, std::memory_order_release);
  }
}

void FileLogStore::add_dirty_locked(const std::shared_ptr<file_io::File>& file) {
  // Usually one file, two around a segment roll: a linear scan beats any set.
  if (std::find(dirty_files_.begin(), dirty_files_.end(), file) == dirty_files_.end()) {
    dirty_files_.push_back(file);
  }
}

const FileLogStore::Segment& FileLogStore::segment_of(Index i) const {
  auto it = std::upper_bound(segments_.begin(), segments_.end(), i,
                             [](Index v, const Segment& s) { return v < s.first; });
  require(it != segments_.begin(), "index below the first segment");
  return *std::prev(it);
}

Term FileLogStore::log_term(Index i) const {
  const Segment& s = segment_of(i);
  require(i - s.first < s.locs.size(), "index beyond the last segment");
  return s.locs[i - s.first].term;
}

Term FileLogStore::term_of(Index i) const {
  if (i == 0) return 0;
  if (i == snapshot_.last_index) return snapshot_.last_term;
  return log_term(i);
}

uint64_t FileLogStore::bytes_from(const Segment& seg, Index from) const {
  uint64_t sum = 0;
  for (Index i = std::max(from, seg.first); i < seg.first + seg.locs.size(); ++i) {
    sum += seg.locs[i - seg.first].bytes;
  }
  return sum;
}

void FileLogStore::recount_log_bytes() {
  uint64_t sum = 0;
  for (const Segment& s : segments_)
    sum += bytes_from(s, first_index_);
  log_bytes_ = sum;
}

void FileLogStore::remove_back_segment() {
  Segment& s = segments_.back();
  log_bytes_ -= bytes_from(s, first_index_);
  file_io::remove(s.file->path());
  segments_.pop_back();  // the descriptor closes once an in-flight sync() lets go of it
}

void FileLogStore::drop_segments_through(Index upto) {
  while (!segments_.empty() && segments_.front().last() <= upto) {
    file_io::remove(segments_.front().file->path());
    segments_.pop_front();
  }
}

void FileLogStore::drop_suffix(Index from, bool durable) {
  tail_.drop_from(from);
  bool removed = false;
  while (!segments_.empty() && segments_.back().first >= from) {
    remove_back_segment();
    removed = true;
  }
  std::shared_ptr<file_io::File> cut;
  if (!segments_.empty() && segments_.back().last() >= from) {
    Segment& s = segments_.back();
    const size_t keep = from - s.first;
    log_bytes_ -= bytes_from(s, from);
    const uint64_t offset = s.locs[keep].offset;
    s.file->truncate(offset);  // drops a preallocated zero tail too
    s.locs.resize(keep);
    s.bytes = offset;
    s.allocated = offset;
    if (durable) {
      s.file->datasync();
      ++segment_syncs_;
    }
    cut = s.file;
  }
  if (durable && removed) file_io::fsync_dir(dir_);
  last_index_ = from - 1;
  std::lock_guard lock(mutex_);
  if (cut && !durable) add_dirty_locked(cut);  // the next sync makes the cut durable
  written_index_ = from - 1;
  durable_index_ = std::min(durable_index_, from - 1);
  removed_from_ = std::min(removed_from_, from);
}

FileLogStore::Segment& FileLogStore::roll(Index next) {
  if (!segments_.empty()) {
    // The full segment becomes durable before any record lands in the next one, so that after
    // a power failure only the last segment can have a torn end: recovery relies on that.
    // (Once per segment_bytes, so the loop thread can afford it.)
    // Cut back to its records first: only the last segment may end in preallocated zeros.
    try {
      trim(segments_.back());
      segments_.back().file->datasync();
      ++segment_syncs_;
    } catch (const StoreError& e) {
      poison(e);
      throw;
    }
  }
  const std::string path = segment_path(next);
  auto file = std::make_shared<file_io::File>(path, O_RDWR | O_CREAT | O_TRUNC);
  std::vector<uint8_t> header;
  segment::encode_header(header, next);
  try {
    file->pwrite_all(header, 0);
  } catch (const StoreError&) {
    file_io::remove(path);
    throw;
  }
  Segment seg;
  seg.first = next;
  seg.file = std::move(file);
  seg.bytes = header.size();
  seg.allocated = header.size();
  segments_.push_back(std::move(seg));
  std::lock_guard lock(mutex_);
  dir_dirty_ = true;  // its directory entry must be durable before its records are promised
  add_dirty_locked(segments_.back().file);
  return segments_.back();
}

void FileLogStore::write_records(Segment& seg, const std::vector<uint8_t>& bytes,
                                 const std::vector<segment::Loc>& locs) {
  if (bytes.empty()) return;
  const uint64_t end = seg.bytes + bytes.size();
  if (options_.preallocate_bytes > 0 && end > seg.allocated) preallocate(seg, end);
  seg.file->pwrite_all(bytes, seg.bytes);
  // Memory changes only after the write succeeded, so a failure leaves the index as it was.
  seg.bytes += bytes.size();
  seg.locs.insert(seg.locs.end(), locs.begin(), locs.end());
  last_index_ += locs.size();
  log_bytes_ += bytes.size();
  // Published after the write: a sync() that sees written_index_ cover these records also
  // finds their file in dirty_files_, and its fdatasync starts after the data is written.
  std::lock_guard lock(mutex_);
  add_dirty_locked(seg.file);
  written_index_ = last_index_;
}

void FileLogStore::preallocate(Segment& seg, uint64_t end) {
  // Zeros really written (not fallocate's unwritten extents, whose conversion on the first
  // write to them costs a journal commit again). Never beyond segment_bytes, except that an
  // oversized record is allocated exactly.
  const uint64_t target =
      std::max(end, std::min(end + options_.preallocate_bytes, options_.segment_bytes));
  static const std::vector<uint8_t> zeros(64 * 1024, 0);
  for (uint64_t at = seg.allocated; at < target; at += zeros.size()) {
    const uint64_t n = std::min<uint64_t>(zeros.size(), target - at);
    seg.file->pwrite_all({zeros.data(), static_cast<size_t>(n)}, at);
    seg.allocated = at + n;  // as far as the zeros got, should a later chunk fail
  }
}

void FileLogStore::trim(Segment& seg) {
  if (seg.allocated == seg.bytes) return;
  seg.file->truncate(seg.bytes);
  seg.allocated = seg.bytes;
}

void FileLogStore::save_hard_state(const HardState& hs) {
  check_usable();
  state_files::write_meta(dir_, hs);  // atomic: on failure the old term and vote stay in force
  hard_state_ = hs;
}

HardState FileLogStore::hard_state() const {
  return hard_state_;
}

Index FileLogStore::first_index() const {
  return first_index_;
}

Index FileLogStore::last_index() const {
  return last_index_;
}

Term FileLogStore::term_at(Index i) const {
  check_usable();
  require(i + 1 >= first_index_ && i <= last_index_, "term_at: index out of range");
  return term_of(i);
}

std::vector<Entry> FileLogStore::entries(Index from, Index to, size_t max_bytes) const {
  check_usable();
  require(from >= first_index_, "entries: from is below first_index");
  to = std::min<Index>(to, last_index_);
  if (tail_.covers(from)) {
    ++cached_reads_;
    return tail_.read(from, to, max_bytes);
  }
  ++file_reads_;
  std::vector<Entry> out;
  uint64_t data_bytes = 0;
  bool full = false;
  for (Index i = from; i <= to && !full;) {
    const Segment& s = segment_of(i);
    // Take the run of entries inside this segment that fits max_bytes, then read it with one
    // pread; the entries' data are zero-copy slices of that one buffer.
    Index end = i;
    uint64_t run_bytes = 0;
    for (; end <= std::min(to, s.last()); ++end) {
      const segment::Loc& loc = s.locs[end - s.first];
      const uint64_t data = loc.bytes - segment::record_header_bytes;
      if ((!out.empty() || end > i) && data_bytes + data > max_bytes) {
        full = true;
        break;
      }
      data_bytes += data;
      run_bytes += loc.bytes;
    }
    const uint64_t offset = s.locs[i - s.first].offset;
    std::vector<uint8_t> raw(run_bytes);
    s.file->pread_exact(raw, offset);
    const Buffer run(std::move(raw));
    size_t at = 0;
    for (Index j = i; j < end; ++j) {
      // Verified again on every read: bit rot after open is caught, not handed to Raft.
      const char* why = "";
      auto r = segment::decode_record(run.span().subspan(at), &why);
      if (r && r->index != j) why = "index out of sequence";
      if (!r || r->index != j) {
        throw StoreError(fmt::format("corrupt log: {} at offset {}: {} (reading index {})",
                                     s.file->path(), offset + at, why, j));
      }
      const size_t data_at = at + segment::record_header_bytes;
      out.push_back({r->term, r->index, r->type, run.slice(data_at, r->data.size())});
      at += r->bytes;
    }
    i = end;
  }
  return out;
}

void FileLogStore::append(std::span<const Entry> entries) {
  if (entries.empty()) return;
  check_usable();
  // Every check before the first change, so that a rejected call changes nothing.
  const Index start = entries[0].index;
  require(start >= first_index_ && start <= last_index_ + 1,
          "append: entries[0].index must be within [first_index, last_index + 1]");
  Term prev_term = term_of(start - 1);
  for (size_t k = 0; k < entries.size(); ++k) {
    require(entries[k].index == start + k, "append: indexes must be consecutive");
    // Recovery refuses a log whose terms decrease, so one must never be written.
    require(entries[k].term >= prev_term, "append: terms must not decrease");
    prev_term = entries[k].term;
    if (entries[k].data.size() > segment::max_data_bytes) {
      throw StoreError(fmt::format("append to {}: entry {} has {} bytes, above the limit of {}",
                                   dir_, entries[k].index, entries[k].data.size(),
                                   segment::max_data_bytes));
    }
  }
  if (start <= last_index_) {
    // Conflict truncation is made durable before new records replace the old ones: otherwise a
    // power failure could resurrect old records behind new ones (a gap, or worse, a mix).
    try {
      drop_suffix(start, /*durable=*/true);
    } catch (const StoreError& e) {
      poison(e);
      throw;
    }
  }
  try {
    std::vector<uint8_t> bytes;
    std::vector<segment::Loc> locs;
    Segment* seg = segments_.empty() ? &roll(start) : &segments_.back();
    for (const Entry& e : entries) {
      const size_t rb = segment::record_bytes(e);
      const bool seg_empty = seg->locs.empty() && locs.empty();
      if (!seg_empty && seg->bytes + bytes.size() + rb > options_.segment_bytes) {
        write_records(*seg, bytes, locs);
        bytes.clear();
        locs.clear();
        seg = &roll(e.index);
      }
      locs.push_back(
          {e.term, static_cast<uint32_t>(seg->bytes + bytes.size()), static_cast<uint32_t>(rb)});
      segment::encode_record(bytes, e);
    }
    write_records(*seg, bytes, locs);
    tail_.push(entries);
  } catch (const StoreError& e) {
    // Undo what this call wrote (records, new segments, a partial write at the end) so the
    // store stays usable after, say, a full disk. If even that fails, nothing can be trusted.
    try {
      drop_suffix(start, /*durable=*/false);
      if (!segments_.empty()) {
        Segment& back = segments_.back();
        back.file->truncate(back.bytes);  // a partial record, and any zeros written ahead
        back.allocated = back.bytes;
      }
    } catch (const StoreError& undo) {
      poison(undo);
    }
    throw;
  }
}

Index FileLogStore::sync() {
  std::lock_guard serial(sync_mutex_);
  check_usable();
  std::vector<std::shared_ptr<file_io::File>> files;
  bool dir = false;
  Index target = 0;
  {
    std::lock_guard lock(mutex_);
    if (dirty_files_.empty() && !dir_dirty_) return durable_index_;
    files.swap(dirty_files_);
    dir = std::exchange(dir_dirty_, false);
    target = written_index_;
    removed_from_ = ~Index{0};
  }
  // The slow part runs unlocked, so the loop thread keeps appending (the next group) meanwhile.
  try {
    for (const auto& f : files) {
      f->datasync();
      ++segment_syncs_;
    }
    if (dir) file_io::fsync_dir(dir_);
  } catch (const StoreError& e) {
    // After a failed fdatasync the kernel may have dropped the dirty pages: retrying could
    // "succeed" without the data. The only safe answer is to stop.
    poison(e);
    throw;
  }
  std::lock_guard lock(mutex_);
  // Entries removed while we flushed are not ours to promise, even if we flushed them.
  const Index covered = std::min(target, removed_from_ - 1);
  durable_index_ = std::max(durable_index_, covered);
  return durable_index_;
}

Index FileLogStore::durable_index() const {
  std::lock_guard lock(mutex_);
  return durable_index_;
}

void FileLogStore::save_snapshot(const SnapshotMeta& meta, const Buffer& data) {
  check_usable();
  require(meta.last_index >= snapshot_.last_index, "save_snapshot: older than the current one");
  // Written before the log shrinks: a crash in between leaves the snapshot plus segments it
  // covers, which recovery removes.
  state_files::write_snapshot(dir_, meta, data);
  const Index snap = meta.last_index;
  const Index old_first = first_index_;
  bool keep = false;
  if (snap == old_first - 1) {
    keep = meta.last_term == snapshot_.last_term;
  } else if (snap >= old_first && snap <= last_index_) {
    keep = log_term(snap) == meta.last_term;
  }
  if (keep)
    tail_.drop_through(snap);
  else
    tail_.clear();
  try {
    if (keep) {
      drop_segments_through(snap);
    } else {
      while (!segments_.empty())
        remove_back_segment();
    }
    // The removals are made durable before a new segment may reuse their indexes.
    file_io::fsync_dir(dir_);
  } catch (const StoreError& e) {
    poison(e);
    throw;
  }
  snapshot_ = meta;
  first_index_ = snap + 1;
  if (!keep) last_index_ = snap;
  recount_log_bytes();
  std::lock_guard lock(mutex_);
  if (keep) {
    durable_index_ = std::max(durable_index_, snap);
  } else {
    removed_from_ = std::min(removed_from_, old_first);
    written_index_ = snap;
    durable_index_ = snap;  // the snapshot file is durable; no entry follows it
  }
}

std::optional<std::pair<SnapshotMeta, Buffer>> FileLogStore::load_snapshot() const {
  check_usable();
  if (snapshot_.last_index == 0) return std::nullopt;
  return state_files::read_snapshot(dir_);
}

SnapshotMeta FileLogStore::snapshot_meta() const {
  return snapshot_;
}

uint64_t FileLogStore::log_bytes() const {
  return log_bytes_;
}

size_t FileLogStore::segment_count() const {
  return segments_.size();
}

}  // namespace cohort::raft
