// FileLogStore's opening half: the directory lock and crash recovery (see the header for the
// rules: a torn tail is cut off and reported, anything else damaged is refused).
#include <fcntl.h>
#include <fmt/core.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "protocols/raft/log/file_log_store.hpp"
#include "protocols/raft/log/state_files.hpp"

namespace cohort::raft {
namespace {

constexpr const char* lock_name = "LOCK";

bool ends_with(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace
void FileLogStore::lock_dir() {
  const std::string path = dir_ + "/" + lock_name;
  auto file = std::make_unique<file_io::File>(path, O_RDWR | O_CREAT);
  if (::flock(file->fd(), LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    if (err != EWOULDBLOCK) file_io::throw_errno("flock", path, err);
    std::string holder;
    try {
      auto bytes = file_io::read_all(path);
      holder.assign(bytes.begin(), std::find(bytes.begin(), bytes.end(), '\n'));
    } catch (const StoreError&) {
      // The pid is only a hint for the message below.
    }
    throw StoreError("log directory " + dir_ + " is in use by another store: " + path +
                     " is locked" + (holder.empty() ? "" : " by pid " + holder));
  }
  // The pid is a diagnostic for the message above; the flock itself is the lock, so a stale
  // pid left by a crashed process never blocks anyone (the kernel drops its lock).
  const std::string pid = std::to_string(::getpid()) + "\n";
  file->truncate(0);
  file->pwrite_all({reinterpret_cast<const uint8_t*>(pid.data()), pid.size()}, 0);
  lock_file_ = std::move(file);
}

void FileLogStore::note(std::string what) {
  fmt::print(stderr, "cohort raft log {}: {}\n", dir_, what);
  if (!recovery_report_.empty()) recovery_report_ += "; ";
  recovery_report_ += what;
}

std::string FileLogStore::segment_path(Index first) const {
  return dir_ + "/" + segment::file_name(first);
}

void FileLogStore::recover() {
  std::vector<Index> firsts;
  for (const std::string& name : file_io::list_dir(dir_)) {
    if (ends_with(name, ".tmp")) {
      // An atomic replace that crashed before its rename: the file it meant to replace is intact.
      file_io::remove(dir_ + "/" + name);
      note("removed unfinished " + name);
    } else if (auto first = segment::parse_file_name(name)) {
      if (*first == 0)
        throw StoreError("corrupt log: segment " + dir_ + "/" + name + " at index 0");
      firsts.push_back(*first);
    }
  }
  std::sort(firsts.begin(), firsts.end());
  hard_state_ = state_files::read_meta(dir_);
  snapshot_ = state_files::read_snapshot(dir_).first;  // reads it all: checks its CRC at open

  Term prev_term = 0;
  for (size_t k = 0; k < firsts.size(); ++k) {
    const bool last = k + 1 == firsts.size();
    const Index first = firsts[k];
    const std::string path = segment_path(first);
    const std::vector<uint8_t> bytes = file_io::read_all(path);
    const auto header = segment::decode_header(bytes);
    if (!header) {
      // A crash between creating the last segment and writing its header leaves a short or
      // zero-filled file. Anything else (an earlier segment, or records after the header)
      // means the header itself was damaged.
      if (!last || segment::find_valid_record(bytes, 0, first - 1)) {
        throw StoreError("corrupt log: bad segment header in " + path + " at offset 0");
      }
      file_io::remove(path);
      dir_dirty_ = true;
      note(fmt::format("removed {} with a torn header ({} bytes)", path, bytes.size()));
      continue;
    }
    if (*header != first) {
      throw StoreError(
          fmt::format("corrupt log: {} at offset 0 names first index {}", path, *header));
    }
    if (!segments_.empty() && first != segments_.back().last() + 1) {
      throw StoreError(fmt::format(
          "corrupt log: gap in indexes: {} starts at index {} but the previous segment ends at {}",
          path, first, segments_.back().last()));
    }
    segment::Scan scan = segment::scan(bytes, first, prev_term);
    // With preallocation the last segment normally ends in zeros written ahead of its records:
    // that is where the log ends, not damage. (Without it, zeros are a torn tail as before.)
    const bool zero_tail = !scan.complete && last && !scan.inconsistent &&
                           options_.preallocate_bytes > 0 &&
                           std::all_of(bytes.begin() + static_cast<ptrdiff_t>(scan.bad_offset),
                                       bytes.end(), [](uint8_t b) { return b == 0; });
    if (!scan.complete && !zero_tail) {
      const Index last_good = first + scan.locs.size() - 1;
      const auto valid_after =
          scan.inconsistent ? std::nullopt
                            : segment::find_valid_record(bytes, scan.bad_offset + 1, last_good);
      if (!last || scan.inconsistent || valid_after) {
        std::string msg = fmt::format("corrupt log: {} at offset {}: {} (after index {})", path,
                                      scan.bad_offset, scan.why, last_good);
        if (valid_after)
          msg += fmt::format(", followed by a valid record at offset {}", *valid_after);
        if (!last) msg += ", in a segment that is not the last";
        throw StoreError(msg + "; refusing to open");
      }
      file_io::File f(path, O_RDWR);
      f.truncate(scan.good_bytes);
      f.datasync();
      note(fmt::format("cut torn tail of {} at offset {}: {} bytes dropped ({}); log ends at {}",
                       path, scan.bad_offset, bytes.size() - scan.good_bytes, scan.why, last_good));
    }
    Segment seg;
    seg.first = first;
    seg.locs = std::move(scan.locs);
    seg.file = std::make_shared<file_io::File>(path, O_RDWR);
    seg.bytes = scan.good_bytes;
    seg.allocated = zero_tail ? bytes.size() : scan.good_bytes;
    if (!seg.locs.empty()) prev_term = seg.locs.back().term;
    segments_.push_back(std::move(seg));
  }

  // Reconcile the log with the snapshot (save_snapshot writes the snapshot first, then removes
  // the segments it replaces, so a crash can leave segments the snapshot already covers).
  const Index snap = snapshot_.last_index;
  first_index_ = snap + 1;
  last_index_ = snap;
  if (!segments_.empty()) {
    const Index log_first = segments_.front().first;
    const Index log_last = segments_.back().last();
    if (log_first > snap + 1) {
      throw StoreError(fmt::format("corrupt log: gap in indexes: {} starts at index {} but {}",
                                   segment_path(log_first), log_first,
                                   snap == 0 ? std::string("there is no snapshot")
                                             : fmt::format("the snapshot ends at {}", snap)));
    }
    bool keep = true;
    if (log_first <= snap) {
      keep = log_last >= snap && log_term(snap) == snapshot_.last_term;
    }
    if (keep) {
      const size_t before = segments_.size();
      drop_segments_through(snap);
      if (segments_.size() != before) {
        note(fmt::format("removed {} segments already covered by the snapshot at {}",
                         before - segments_.size(), snap));
      }
      last_index_ = std::max(snap, log_last);
    } else {
      note(fmt::format("removed {} segments ({}..{}) replaced by the snapshot at {}",
                       segments_.size(), log_first, log_last, snap));
      while (!segments_.empty())
        remove_back_segment();
    }
  }
  recount_log_bytes();
  // Whatever was found is made durable now, so that durable_index() is true from the start:
  // a killed process leaves unsynced appends in the page cache, which we have just read.
  if (!segments_.empty()) segments_.back().file->datasync();
  file_io::fsync_dir(dir_);
  dir_dirty_ = false;
  written_index_ = last_index_;
  durable_index_ = last_index_;
}

}  // namespace cohort::raft
