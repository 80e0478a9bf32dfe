#include "blocks/session_table.hpp"

#include "blocks/block_assert.hpp"

namespace cohort {

namespace {
// Decoder limits: a snapshot is trusted input from a peer, but a corrupt one must not make us
// allocate without bound before we notice.
constexpr uint64_t max_decoded_sessions = 1u << 24;
constexpr uint64_t max_decoded_results = 1u << 24;
}  // namespace

const ClientSessionState* SessionTable::find(uint64_t id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

ClientSessionState& SessionTable::at(uint64_t id) {
  auto it = sessions_.find(id);
  BLOCK_ASSERT(it != sessions_.end());
  return it->second;
}

void SessionTable::open(uint64_t id, std::string owner, uint64_t now_ms) {
  BLOCK_ASSERT(id != 0);
  auto [it, inserted] = sessions_.try_emplace(id);
  BLOCK_ASSERT(inserted);
  it->second.id = id;
  it->second.owner = std::move(owner);
  it->second.last_activity_ms = now_ms;
  by_activity_.emplace(now_ms, id);
}

bool SessionTable::close(uint64_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return false;
  by_activity_.erase({it->second.last_activity_ms, id});
  sessions_.erase(it);
  return true;
}

void SessionTable::touch(uint64_t id, uint64_t now_ms) {
  auto& s = at(id);
  if (now_ms <= s.last_activity_ms) return;
  by_activity_.erase({s.last_activity_ms, id});
  s.last_activity_ms = now_ms;
  by_activity_.emplace(now_ms, id);
}

void SessionTable::acknowledge(uint64_t id, uint64_t acked_seq) {
  auto& s = at(id);
  if (acked_seq <= s.acked_seq) return;
  s.acked_seq = acked_seq;
  s.results.erase(s.results.begin(), s.results.upper_bound(acked_seq));
}

const Buffer* SessionTable::cached(uint64_t id, uint64_t seq) const {
  const auto* s = find(id);
  if (!s) return nullptr;
  auto it = s->results.find(seq);
  return it == s->results.end() ? nullptr : &it->second;
}

void SessionTable::store(uint64_t id, uint64_t seq, Buffer result) {
  auto& s = at(id);
  BLOCK_ASSERT(seq > s.acked_seq);
  s.results[seq] = std::move(result);
}

std::vector<uint64_t> SessionTable::expire(uint64_t now_ms, uint64_t timeout_ms) {
  std::vector<uint64_t> expired;
  while (!by_activity_.empty()) {
    auto [last, id] = *by_activity_.begin();
    if (now_ms <= last || now_ms - last <= timeout_ms) break;
    by_activity_.erase(by_activity_.begin());
    sessions_.erase(id);
    expired.push_back(id);
  }
  return expired;
}

void SessionTable::encode(codec::Writer& w) const {
  w.varint(sessions_.size());
  for (const auto& [id, s] : sessions_) {
    w.varint(id);
    w.str(s.owner);
    w.varint(s.last_activity_ms);
    w.varint(s.acked_seq);
    w.varint(s.results.size());
    for (const auto& [seq, result] : s.results) {
      w.varint(seq);
      w.bytes(result.span());
    }
  }
}

std::optional<SessionTable> SessionTable::decode(codec::Reader& r) {
  SessionTable t;
  const uint64_t n = r.varint_max(max_decoded_sessions, "too many sessions");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    ClientSessionState s;
    s.id = r.varint();
    s.owner = r.str();
    s.last_activity_ms = r.varint();
    s.acked_seq = r.varint();
    const uint64_t m = r.varint_max(max_decoded_results, "too many results");
    for (uint64_t j = 0; j < m && r.ok(); ++j) {
      const uint64_t seq = r.varint();
      Buffer result = Buffer::copy_of(r.bytes_view());
      if (seq <= s.acked_seq || !s.results.emplace(seq, std::move(result)).second)
        r.fail("bad cached result sequence");
    }
    if (!r.ok()) break;
    if (s.id == 0 || t.sessions_.count(s.id)) return std::nullopt;
    t.by_activity_.emplace(s.last_activity_ms, s.id);
    t.sessions_.emplace(s.id, std::move(s));
  }
  if (!r.ok()) return std::nullopt;
  return t;
}

}  // namespace cohort
