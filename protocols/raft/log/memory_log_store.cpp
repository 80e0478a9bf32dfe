#include "protocols/raft/log/memory_log_store.hpp"

#include <algorithm>

namespace cohort::raft {

namespace {
void require(bool ok, const char* what) {
  if (!ok) throw StoreError(std::string("MemoryLogStore: precondition violated: ") + what);
}
}  // namespace

void MemoryLogStore::save_hard_state(const HardState& hs) {
  std::lock_guard lock(mu_);
  hard_state_ = hs;
}

HardState MemoryLogStore::hard_state() const {
  std::lock_guard lock(mu_);
  return hard_state_;
}

Index MemoryLogStore::first_index() const {
  std::lock_guard lock(mu_);
  return snap_.last_index + 1;
}

Index MemoryLogStore::last_index() const {
  std::lock_guard lock(mu_);
  return last_locked();
}

Term MemoryLogStore::term_locked(Index i) const {
  require(i >= snap_.last_index && i <= last_locked(), "term_at out of range");
  if (i == snap_.last_index) return snap_.last_term;
  return at_locked(i).term;
}

Term MemoryLogStore::term_at(Index i) const {
  std::lock_guard lock(mu_);
  return term_locked(i);
}

std::vector<Entry> MemoryLogStore::entries(Index from, Index to, size_t max_bytes) const {
  std::lock_guard lock(mu_);
  require(from > snap_.last_index && (from > to || to <= last_locked()), "entries out of range");
  std::vector<Entry> out;
  size_t bytes = 0;
  for (Index i = from; i <= to; ++i) {
    const Entry& e = at_locked(i);
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

void MemoryLogStore::truncate_locked(Index from) {
  if (from > last_locked()) return;
  if (from <= durable_) {
    // The removal is not durable until the next sync: a crash brings these entries back.
    std::deque<Entry> back;
    for (Index i = from; i <= durable_; ++i)
      back.push_back(at_locked(i));
    stale_.insert(stale_.begin(), back.begin(), back.end());
    durable_ = from - 1;
  }
  while (last_locked() >= from) {
    bytes_ -= entries_.back().data.size();
    entries_.pop_back();
  }
}

void MemoryLogStore::append(std::span<const Entry> es) {
  if (es.empty()) return;
  std::lock_guard lock(mu_);
  require(es[0].index > snap_.last_index && es[0].index <= last_locked() + 1, "append gap");
  for (size_t k = 1; k < es.size(); ++k) {
    require(es[k].index == es[0].index + k, "append not consecutive");
  }
  truncate_locked(es[0].index);
  for (const auto& e : es) {
    bytes_ += e.data.size();
    entries_.push_back(e);
  }
}

Index MemoryLogStore::sync() {
  std::lock_guard lock(mu_);
  durable_ = last_locked();
  stale_.clear();
  return durable_;
}

Index MemoryLogStore::durable_index() const {
  std::lock_guard lock(mu_);
  return durable_;
}

void MemoryLogStore::save_snapshot(const SnapshotMeta& meta, const Buffer& data) {
  std::lock_guard lock(mu_);
  if (meta.last_index <= snap_.last_index) return;
  bool keep = meta.last_index <= last_locked() && term_locked(meta.last_index) == meta.last_term;
  Index old_base = snap_.last_index;
  if (keep) {
    for (Index i = old_base + 1; i <= meta.last_index; ++i) {
      bytes_ -= entries_.front().data.size();
      entries_.pop_front();
    }
  } else {
    entries_.clear();
    bytes_ = 0;
  }
  if (durable_ < meta.last_index || !keep) {
    // The snapshot now covers everything up to it; what the disk held past it is rewritten.
    stale_.clear();
  }
  durable_ = std::max(keep ? durable_ : 0, meta.last_index);
  snap_ = meta;
  snap_data_ = data;
}

std::optional<std::pair<SnapshotMeta, Buffer>> MemoryLogStore::load_snapshot() const {
  std::lock_guard lock(mu_);
  if (snap_.last_index == 0) return std::nullopt;
  return std::make_pair(snap_, snap_data_);
}

SnapshotMeta MemoryLogStore::snapshot_meta() const {
  std::lock_guard lock(mu_);
  return snap_;
}

uint64_t MemoryLogStore::log_bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

void MemoryLogStore::crash() {
  std::lock_guard lock(mu_);
  while (last_locked() > durable_) {
    bytes_ -= entries_.back().data.size();
    entries_.pop_back();
  }
  for (auto& e : stale_) {
    bytes_ += e.data.size();
    entries_.push_back(std::move(e));
  }
  stale_.clear();
  durable_ = last_locked();
}

bool MemoryLogStore::durably_holds(Index i, Term t) const {
  std::lock_guard lock(mu_);
  if (i < snap_.last_index) return true;
  if (i == snap_.last_index) return t == snap_.last_term;
  if (i <= durable_) return at_locked(i).term == t;
  Index k = i - durable_ - 1;
  return k < stale_.size() && stale_[k].term == t;
}

}  // namespace cohort::raft
