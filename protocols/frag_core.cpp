#include "protocols/frag_core.hpp"

#include <algorithm>
#include <cassert>
#include <cstring>

namespace cohort::frag {

namespace {
/// Completed ids remembered for duplicate suppression; beyond this the oldest are forgotten
/// (bounded memory even at very high message rates).
constexpr size_t max_completed_remembered = 65536;
}  // namespace

std::vector<Buffer> split(const Buffer& payload, size_t frag_size) {
  assert(frag_size > 0);
  std::vector<Buffer> out;
  if (payload.empty()) {
    out.push_back(payload);
    return out;
  }
  out.reserve((payload.size() + frag_size - 1) / frag_size);
  for (size_t off = 0; off < payload.size(); off += frag_size)
    out.push_back(payload.slice(off, std::min(frag_size, payload.size() - off)));
  return out;
}

void Reassembler::drop(std::map<Key, Partial>::iterator it) {
  buffered_bytes_ -= it->second.bytes;
  partials_.erase(it);
}

void Reassembler::remember_completed(const Key& k, Duration now) {
  if (completed_order_.size() >= max_completed_remembered) {
    completed_.erase(completed_order_.front().second);
    completed_order_.pop_front();
  }
  completed_order_.emplace_back(now, k);
  completed_.insert(k);
}

Reassembler::Result Reassembler::add(const Message& fragment, const FragInfo& info, Duration now) {
  Result r;
  const Buffer& data = fragment.payload();
  if (info.count == 0 || info.index >= info.count || info.count > limits_.max_fragments ||
      data.size() > info.total) {
    r.outcome = Outcome::invalid;
    return r;
  }
  if (info.total > limits_.max_bytes) {
    r.outcome = Outcome::too_large;
    return r;
  }
  Key key{fragment.src(), info.id};
  if (completed_.contains(key)) {
    r.outcome = Outcome::duplicate;
    return r;
  }
  auto it = partials_.find(key);
  if (it == partials_.end()) {
    Partial p;
    p.info = info;
    p.started = now;
    p.pieces.resize(info.count);
    p.have.resize(info.count, false);
    it = partials_.emplace(key, std::move(p)).first;
  }
  Partial& p = it->second;
  if (p.info.count != info.count || p.info.total != info.total) {
    r.outcome = Outcome::invalid;
    return r;
  }
  if (p.have[info.index]) {
    r.outcome = Outcome::duplicate;
    return r;
  }
  if (p.bytes + data.size() > info.total) {  // more bytes than the message has
    drop(it);
    r.outcome = Outcome::invalid;
    return r;
  }
  // Make room: evict the oldest other partial messages (most likely missing a lost fragment).
  while (buffered_bytes_ + data.size() > limits_.max_bytes) {
    auto oldest = partials_.end();
    for (auto i = partials_.begin(); i != partials_.end(); ++i)
      if (i != it && (oldest == partials_.end() || i->second.started < oldest->second.started))
        oldest = i;
    if (oldest == partials_.end()) break;  // only this message: it fits (total <= max_bytes)
    drop(oldest);
    ++r.evicted;
  }
  p.have[info.index] = true;
  p.pieces[info.index] = data;
  p.bytes += data.size();
  buffered_bytes_ += data.size();
  ++p.received;
  if (info.index == 0) p.first = fragment;
  if (p.received < p.info.count) return r;

  // Complete: the bytes must add up exactly.
  if (p.bytes != p.info.total || !p.first) {
    drop(it);
    r.outcome = Outcome::invalid;
    return r;
  }
  Message whole = std::move(*p.first);
  if (p.info.count == 1) {
    whole.payload(p.pieces[0]);
  } else {
    std::vector<uint8_t> bytes(p.info.total);
    size_t off = 0;
    for (auto& piece : p.pieces) {
      if (!piece.empty()) std::memcpy(bytes.data() + off, piece.data(), piece.size());
      off += piece.size();
    }
    whole.payload(Buffer(std::move(bytes)));
  }
  drop(it);
  remember_completed(key, now);
  r.outcome = Outcome::complete;
  r.message = std::move(whole);
  return r;
}

size_t Reassembler::expire(Duration now) {
  size_t n = 0;
  for (auto it = partials_.begin(); it != partials_.end();) {
    if (now - it->second.started > limits_.max_time) {
      auto next = std::next(it);
      drop(it);
      it = next;
      ++n;
    } else {
      ++it;
    }
  }
  while (!completed_order_.empty() && now - completed_order_.front().first > limits_.max_time) {
    completed_.erase(completed_order_.front().second);
    completed_order_.pop_front();
  }
  return n;
}

}  // namespace cohort::frag
