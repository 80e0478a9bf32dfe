#include "blocks/lock_service.hpp"

#include <utility>

#include "blocks/block_assert.hpp"
#include "stack/codec.hpp"

namespace cohort {

namespace {
constexpr uint8_t snapshot_version = 1;
constexpr uint64_t max_decoded_locks = 1u << 24;
constexpr uint64_t max_decoded_waiters = 1u << 24;

LockReply acquired(uint64_t token) {
  return {LockOutcome::acquired, token, 0};
}
Buffer ok_reply(const LockReply& r) {
  return make_result(BlockStatus::ok, lock_codec::reply_body(r));
}
}  // namespace

uint64_t LockService::add_listener(Listener l) {
  listeners_.emplace(++last_listener_id_, std::move(l));
  return last_listener_id_;
}

LockInfo LockService::info(std::string_view name) const {
  LockInfo i;
  auto it = locks_.find(name);
  if (it == locks_.end()) return i;
  const LockState& l = it->second;
  if (l.holder) {
    i.held = true;
    i.session_id = l.holder->session_id;
    i.owner = l.holder->owner;
    i.token = l.holder->token;
  }
  i.waiters = l.waiters.size();
  return i;
}

std::optional<uint64_t> LockService::position(const LockState& l, uint64_t session_id) {
  for (size_t i = 0; i < l.waiters.size(); ++i)
    if (l.waiters[i].session_id == session_id) return i + 1;
  return std::nullopt;
}

void LockService::emit(const LockEvent& e) {
  for (auto& [id, l] : listeners_)
    l(e);
}

// One grant per lock per entry keeps tokens strictly increasing; grants held back from an
// earlier entry run first, before any command of this one can jump the queue.
void LockService::begin_entry(const ApplyContext& ctx) {
  BLOCK_ASSERT(ctx.index >= entry_index_);
  if (ctx.index == entry_index_) return;
  entry_index_ = ctx.index;
  granted_in_entry_.clear();
  auto deferred = std::exchange(deferred_, {});
  for (const auto& name : deferred)
    grant_next(ctx, name);
}

Buffer LockService::apply(const ApplyContext& ctx, const Buffer& command) {
  begin_entry(ctx);
  auto c = lock_codec::decode(command);
  if (!c) return make_result(BlockStatus::malformed);
  if (c->op == LockOp::holder)
    return make_result(BlockStatus::ok, lock_codec::info_body(info(c->name)));
  if (ctx.session_id == 0) return make_result(BlockStatus::session_required);
  switch (c->op) {
    case LockOp::lock:
      return acquire(ctx, c->name, true);
    case LockOp::try_lock:
      return acquire(ctx, c->name, false);
    case LockOp::unlock:
      return unlock(ctx, c->name);
    case LockOp::cancel:
      return cancel(ctx, c->name);
    case LockOp::holder:
      break;
  }
  return make_result(BlockStatus::malformed);
}

Buffer LockService::query(const Buffer& query) const {
  auto c = lock_codec::decode(query);
  if (!c) return make_result(BlockStatus::malformed);
  if (c->op != LockOp::holder) return make_result(BlockStatus::write_in_query);
  return make_result(BlockStatus::ok, lock_codec::info_body(info(c->name)));
}

Buffer LockService::acquire(const ApplyContext& ctx, const std::string& name, bool wait) {
  LockState& l = locks_[name];
  if (l.holder && l.holder->session_id == ctx.session_id)
    return ok_reply(acquired(l.holder->token));
  if (auto pos = position(l, ctx.session_id)) return ok_reply({LockOutcome::queued, 0, *pos});
  const bool free_now = !l.holder && l.waiters.empty() && !granted_in_entry_.count(name);
  if (free_now) {
    grant(ctx, name, l, Waiter{ctx.session_id, std::string(ctx.session_owner)});
    return ok_reply(acquired(ctx.index));
  }
  if (!wait) {
    forget_if_idle(name);
    return ok_reply({LockOutcome::busy, 0, 0});
  }
  l.waiters.push_back(Waiter{ctx.session_id, std::string(ctx.session_owner)});
  by_session_[ctx.session_id].insert(name);
  if (!l.holder) deferred_.insert(name);  // free, but already granted in this entry
  return ok_reply({LockOutcome::queued, 0, l.waiters.size()});
}

Buffer LockService::unlock(const ApplyContext& ctx, const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end() || !it->second.holder || it->second.holder->session_id != ctx.session_id)
    return make_result(BlockStatus::not_holder);
  release(ctx, name, LockEvent::Reason::unlocked);
  return make_result(BlockStatus::ok);
}

Buffer LockService::cancel(const ApplyContext& ctx, const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end()) return ok_reply({LockOutcome::not_waiting, 0, 0});
  LockState& l = it->second;
  if (l.holder && l.holder->session_id == ctx.session_id)
    return ok_reply(acquired(l.holder->token));
  auto pos = position(l, ctx.session_id);
  if (!pos) return ok_reply({LockOutcome::not_waiting, 0, 0});
  l.waiters.erase(l.waiters.begin() + static_cast<long>(*pos - 1));
  auto s = by_session_.find(ctx.session_id);
  s->second.erase(name);
  if (s->second.empty()) by_session_.erase(s);
  forget_if_idle(name);
  return ok_reply({LockOutcome::cancelled, 0, 0});
}

void LockService::grant(const ApplyContext& ctx, const std::string& name, LockState& l, Waiter w) {
  BLOCK_ASSERT(!l.holder && !granted_in_entry_.count(name));
  l.holder = Holder{w.session_id, std::move(w.owner), ctx.index};
  granted_in_entry_.insert(name);
  by_session_[w.session_id].insert(name);
  emit({LockEvent::Kind::acquired, LockEvent::Reason::granted, name, l.holder->session_id,
        l.holder->owner, l.holder->token});
}

void LockService::release(const ApplyContext& ctx, const std::string& name, LockEvent::Reason why) {
  LockState& l = locks_.at(name);
  BLOCK_ASSERT(l.holder.has_value());
  Holder h = std::move(*l.holder);
  l.holder.reset();
  auto s = by_session_.find(h.session_id);
  BLOCK_ASSERT(s != by_session_.end());
  s->second.erase(name);
  if (s->second.empty()) by_session_.erase(s);
  emit({LockEvent::Kind::released, why, name, h.session_id, h.owner, h.token});
  grant_next(ctx, name);
}

void LockService::grant_next(const ApplyContext& ctx, const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end()) return;
  LockState& l = it->second;
  BLOCK_ASSERT(!l.holder);
  if (l.waiters.empty()) return forget_if_idle(name);
  if (granted_in_entry_.count(name)) {
    deferred_.insert(name);
    return;
  }
  Waiter w = std::move(l.waiters.front());
  l.waiters.pop_front();
  deferred_.erase(name);
  const uint64_t session = w.session_id;
  grant(ctx, name, l, std::move(w));
  notifications_.push_back(Notification{session, "", lock_codec::encode_grant({name, ctx.index})});
}

void LockService::forget_if_idle(const std::string& name) {
  auto it = locks_.find(name);
  if (it == locks_.end() || it->second.holder || !it->second.waiters.empty()) return;
  locks_.erase(it);
  deferred_.erase(name);
}

void LockService::advance_time(const ApplyContext& ctx) {
  begin_entry(ctx);
}

void LockService::session_closed(const ApplyContext& ctx, uint64_t session_id) {
  begin_entry(ctx);
  auto s = by_session_.find(session_id);
  if (s == by_session_.end()) return;
  const std::set<std::string> names = s->second;
  // Leave every queue first, so that releasing one lock cannot grant this session another.
  for (const auto& name : names) {
    LockState& l = locks_.at(name);
    if (auto pos = position(l, session_id)) {
      l.waiters.erase(l.waiters.begin() + static_cast<long>(*pos - 1));
      s->second.erase(name);
    }
  }
  if (s->second.empty()) by_session_.erase(s);
  for (const auto& name : names) {
    auto it = locks_.find(name);
    if (it == locks_.end()) continue;
    if (it->second.holder && it->second.holder->session_id == session_id)
      release(ctx, name, LockEvent::Reason::session_ended);
    else
      forget_if_idle(name);
  }
  BLOCK_ASSERT(!by_session_.count(session_id));
}

std::vector<Notification> LockService::take_notifications() {
  return std::exchange(notifications_, {});
}

Buffer LockService::snapshot() const {
  codec::Writer w;
  w.u8(snapshot_version);
  w.varint(locks_.size());
  for (const auto& [name, l] : locks_) {
    w.str(name);
    w.u8(l.holder ? 1 : 0);
    if (l.holder) {
      w.varint(l.holder->session_id);
      w.str(l.holder->owner);
      w.varint(l.holder->token);
    }
    w.varint(l.waiters.size());
    for (const auto& wt : l.waiters) {
      w.varint(wt.session_id);
      w.str(wt.owner);
    }
  }
  w.varint(deferred_.size());
  for (const auto& name : deferred_)
    w.str(name);
  return w.take_buffer();
}

void LockService::restore(const Buffer& snapshot) {
  codec::Reader r(snapshot);
  if (r.u8() != snapshot_version) throw SnapshotError("lock snapshot: bad version");
  std::map<std::string, LockState, std::less<>> locks;
  std::set<std::string, std::less<>> deferred;
  std::map<uint64_t, std::set<std::string>> by_session;
  const uint64_t n = r.varint_max(max_decoded_locks, "too many locks");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string name = r.str();
    LockState l;
    const uint8_t held = r.u8();
    if (held > 1) r.fail("bad held flag");
    if (held == 1) {
      Holder h;
      h.session_id = r.varint();
      h.owner = r.str();
      h.token = r.varint();
      if (!by_session[h.session_id].insert(name).second) r.fail("repeated session");
      l.holder = std::move(h);
    }
    const uint64_t m = r.varint_max(max_decoded_waiters, "too many waiters");
    for (uint64_t j = 0; j < m && r.ok(); ++j) {
      Waiter wt;
      wt.session_id = r.varint();
      wt.owner = r.str();
      if (!by_session[wt.session_id].insert(name).second) r.fail("repeated session");
      l.waiters.push_back(std::move(wt));
    }
    if (!l.holder && l.waiters.empty()) r.fail("idle lock");
    if (r.ok() && !locks.emplace(std::move(name), std::move(l)).second) r.fail("repeated lock");
  }
  const uint64_t d = r.varint_max(n, "too many deferred");
  for (uint64_t i = 0; i < d && r.ok(); ++i) {
    std::string name = r.str();
    auto it = locks.find(name);
    if (it == locks.end() || it->second.holder) r.fail("bad deferred lock");
    if (r.ok() && !deferred.insert(std::move(name)).second) r.fail("repeated deferred");
  }
  if (!r.ok() || !r.at_end()) throw SnapshotError("lock snapshot: malformed");
  // A free lock with waiters exists only while its grant is deferred.
  for (const auto& [name, l] : locks)
    if (!l.holder && !deferred.count(name)) throw SnapshotError("lock snapshot: stuck waiters");
  locks_ = std::move(locks);
  deferred_ = std::move(deferred);
  by_session_ = std::move(by_session);
  entry_index_ = 0;
  granted_in_entry_.clear();
  notifications_.clear();
}

}  // namespace cohort
