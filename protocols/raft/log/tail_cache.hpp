#pragma once
// TailCache: the newest entries of a log, kept in memory (their data shared, not copied) so that
// the reads Raft makes right after an append — the leader building AppendEntries for each
// follower, every member applying what was just committed — need no pread and no CRC pass over
// bytes this process wrote a moment ago. Holds a run of consecutive indexes ending at the log's
// last index, at most `max_bytes` of entry data (at least the newest entry). Loop thread only.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <span>
#include <vector>

#include "protocols/raft/log/entry.hpp"

namespace cohort::raft {

class TailCache {
 public:
  explicit TailCache(size_t max_bytes) : max_bytes_(max_bytes) {}

  /// Entries just appended after the current tail (or starting a new run after drop_from()).
  void push(std::span<const Entry> entries) {
    if (max_bytes_ == 0 || entries.empty()) return;
    if (!entries_.empty() && entries_.back().index + 1 != entries.front().index) clear();
    for (const Entry& e : entries) {
      entries_.push_back(e);
      bytes_ += e.data.size();
    }
    while (entries_.size() > 1 && bytes_ > max_bytes_)
      pop_front();
  }
  /// The log lost its entries from `index` on (a conflict truncation, an undone append).
  void drop_from(Index index) {
    while (!entries_.empty() && entries_.back().index >= index)
      pop_back();
  }
  /// The log lost its entries up to and including `index` (compaction behind a snapshot).
  void drop_through(Index index) {
    while (!entries_.empty() && entries_.front().index <= index)
      pop_front();
  }
  void clear() {
    entries_.clear();
    bytes_ = 0;
  }

  /// True when every entry from `from` to the log's end is here.
  bool covers(Index from) const { return !entries_.empty() && from >= entries_.front().index; }
  /// Entries from..to (to clipped to the newest), as LogStore::entries() reads them: the first
  /// always, then while the data stays within max_bytes. Precondition: covers(from).
  std::vector<Entry> read(Index from, Index to, size_t max_bytes) const {
    std::vector<Entry> out;
    uint64_t data_bytes = 0;
    for (size_t k = from - entries_.front().index; k < entries_.size(); ++k) {
      const Entry& e = entries_[k];
      if (e.index > to) break;
      if (!out.empty() && data_bytes + e.data.size() > max_bytes) break;
      data_bytes += e.data.size();
      out.push_back(e);
    }
    return out;
  }

 private:
  void pop_front() {
    bytes_ -= entries_.front().data.size();
    entries_.pop_front();
  }
  void pop_back() {
    bytes_ -= entries_.back().data.size();
    entries_.pop_back();
  }

  size_t max_bytes_;
  std::deque<Entry> entries_;
  uint64_t bytes_ = 0;
};

}  // namespace cohort::raft
