#include "blocks/session_state_machine.hpp"

#include "blocks/block_assert.hpp"
#include "blocks/block_status.hpp"
#include "blocks/session_envelope.hpp"
#include "stack/codec.hpp"

namespace cohort {

namespace {
constexpr uint8_t snapshot_version = 1;
}

SessionStateMachine::SessionStateMachine(std::unique_ptr<StateMachine> inner, SessionConfig config)
    : inner_(std::move(inner)), config_(config) {
  BLOCK_ASSERT(inner_ != nullptr);
  BLOCK_ASSERT(config_.max_sessions > 0 && config_.max_results_per_session > 0);
}

Buffer SessionStateMachine::reject(BlockStatus status) {
  ++stats_.rejected;
  return make_result(status);
}

Buffer SessionStateMachine::apply(const ApplyContext& ctx, const Buffer& command) {
  expire_sessions(ctx);
  auto e = decode_envelope(command);
  if (!e) return reject(BlockStatus::malformed);
  switch (e->kind) {
    case EnvelopeKind::open_session: {
      if (sessions_.size() >= config_.max_sessions) return reject(BlockStatus::too_many_sessions);
      // §6.3: the session id is the index of the entry that registers it.
      sessions_.open(ctx.index, e->payload.str(), ctx.cluster_time_ms);
      ++stats_.opened;
      codec::Writer w;
      w.varint(ctx.index);
      return make_result(BlockStatus::ok, w.take_buffer());
    }
    case EnvelopeKind::keep_alive:
      if (!sessions_.find(e->session_id)) return reject(BlockStatus::session_expired);
      sessions_.touch(e->session_id, ctx.cluster_time_ms);
      sessions_.acknowledge(e->session_id, e->acked_seq);
      return make_result(BlockStatus::ok);
    case EnvelopeKind::close_session:
      if (!sessions_.find(e->session_id)) return reject(BlockStatus::session_expired);
      end_session(ctx, e->session_id);
      ++stats_.closed;
      return make_result(BlockStatus::ok);
    case EnvelopeKind::command:
      return apply_command(ctx, *e);
  }
  return reject(BlockStatus::malformed);
}

Buffer SessionStateMachine::apply_command(const ApplyContext& ctx, const Envelope& e) {
  if (e.session_id == 0) {
    ++stats_.applied;
    Buffer r = inner_->apply(ctx, e.payload);
    drain_inner();
    return r;
  }
  const ClientSessionState* s = sessions_.find(e.session_id);
  if (!s) return reject(BlockStatus::session_expired);
  sessions_.touch(e.session_id, ctx.cluster_time_ms);
  sessions_.acknowledge(e.session_id, e.acked_seq);
  if (const Buffer* cached = sessions_.cached(e.session_id, e.sequence)) {
    ++stats_.duplicates;
    return *cached;
  }
  if (e.sequence <= s->acked_seq) return reject(BlockStatus::stale_sequence);
  if (s->results.size() >= config_.max_results_per_session)
    return reject(BlockStatus::session_cache_full);

  ApplyContext inner_ctx = ctx;
  inner_ctx.session_id = e.session_id;
  inner_ctx.session_owner = s->owner;
  ++stats_.applied;
  Buffer r = inner_->apply(inner_ctx, e.payload);
  drain_inner();
  sessions_.store(e.session_id, e.sequence, r);
  return r;
}

void SessionStateMachine::advance_time(const ApplyContext& ctx) {
  expire_sessions(ctx);
  ApplyContext inner_ctx = ctx;
  inner_ctx.session_id = 0;
  inner_ctx.session_owner = {};
  inner_->advance_time(inner_ctx);
  drain_inner();
}

void SessionStateMachine::expire_sessions(const ApplyContext& ctx) {
  for (uint64_t id : sessions_.expire(ctx.cluster_time_ms, config_.session_timeout_ms)) {
    ++stats_.expired;
    end_session(ctx, id);
  }
}

void SessionStateMachine::end_session(const ApplyContext& ctx, uint64_t id) {
  sessions_.close(id);  // no-op when expire() already removed it
  notifications_.push_back(Notification{id, "", Buffer{}});
  ApplyContext inner_ctx = ctx;
  inner_ctx.session_id = 0;
  inner_ctx.session_owner = {};
  inner_->session_closed(inner_ctx, id);
  drain_inner();
}

void SessionStateMachine::drain_inner() {
  for (auto& n : inner_->take_notifications())
    notifications_.push_back(std::move(n));
}

std::vector<Notification> SessionStateMachine::take_notifications() {
  drain_inner();
  return std::exchange(notifications_, {});
}

Buffer SessionStateMachine::snapshot() const {
  codec::Writer w;
  w.u8(snapshot_version);
  sessions_.encode(w);
  w.bytes(inner_->snapshot().span());
  return w.take_buffer();
}

void SessionStateMachine::restore(const Buffer& snapshot) {
  codec::Reader r(snapshot);
  if (r.u8() != snapshot_version) throw SnapshotError("session snapshot: bad version");
  auto table = SessionTable::decode(r);
  Buffer inner = r.bytes();
  if (!table || !r.ok() || !r.at_end()) throw SnapshotError("session snapshot: malformed");
  inner_->restore(inner);  // throws, leaving everything unchanged, if the inner part is bad
  sessions_ = std::move(*table);
  notifications_.clear();
}

}  // namespace cohort
