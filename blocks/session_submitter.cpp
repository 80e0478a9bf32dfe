#include "blocks/session_submitter.hpp"

#include "blocks/block_status.hpp"
#include "protocols/raft/client_errors.hpp"

namespace cohort {

SessionSubmitter::SessionSubmitter(std::string owner, SessionConfig config, Runtime& loop,
                                   RawSubmit raw)
    : owner_(std::move(owner)), config_(config), loop_(loop), raw_(std::move(raw)) {}

SessionSubmitter::~SessionSubmitter() {
  *alive_ = false;
  keep_alive_timer_.cancel();
}

std::optional<uint64_t> SessionSubmitter::session_id() const {
  return session_ ? std::optional<uint64_t>(session_->id()) : std::nullopt;
}

void SessionSubmitter::session_ended(uint64_t id) {
  if (session_ && session_->id() == id) session_.reset();
}

void SessionSubmitter::submit(Buffer wrapped, ResultHandler done, Duration timeout) {
  Pending p{std::move(wrapped), std::move(done), timeout};
  if (session_) return send(std::move(p));
  waiting_.push_back(std::move(p));
  open_session();
}

void SessionSubmitter::open_session() {
  if (opening_) return;
  opening_ = true;
  // The session is opened on behalf of the first waiting command: its deadline applies.
  Duration timeout = waiting_.empty() ? Duration(0) : waiting_.front().timeout;
  raw_(encode(Envelope::open_session(owner_)), timeout,
       [this, alive = alive_](std::error_code ec, Buffer result) {
         if (!*alive) return;
         opening_ = false;
         BlockResult r = parse_result(result);
         std::optional<uint64_t> id;
         if (!ec && r.ok()) id = decode_session_id(r.body);
         auto waiting = std::move(waiting_);
         waiting_.clear();
         if (!id) {  // fail what waited; a later submit tries again
           std::error_code err = ec ? ec : make_error_code(raft::ClientErrc::rejected);
           for (auto& p : waiting)
             p.done(err, {});
           return;
         }
         session_.emplace(*id);
         if (on_session_opened) on_session_opened(*id);
         last_activity_ = loop_.now();
         keep_alive_timer_.cancel();
         keep_alive_timer_ = loop_.schedule(
             std::chrono::milliseconds(config_.session_timeout_ms / 4), [this] { keep_alive(); });
         for (auto& p : waiting)
           send(std::move(p));
       });
}

void SessionSubmitter::send(Pending p) {
  Envelope e = session_->next(p.wrapped);
  uint64_t session_id = session_->id();
  last_activity_ = loop_.now();
  Duration timeout = p.timeout;
  raw_(encode(e), timeout,
       [this, alive = alive_, p = std::move(p), seq = e.sequence, session_id](
           std::error_code ec, Buffer result) mutable {
         if (!*alive) return;
         if (session_ && session_->id() == session_id) session_->completed(seq);
         if (!ec && parse_result(result).status == BlockStatus::session_expired) {
           // Never applied: safe to resend in a fresh session.
           session_ended(session_id);
           waiting_.push_back(std::move(p));
           return open_session();
         }
         p.done(ec, std::move(result));
       });
}

void SessionSubmitter::keep_alive() {
  if (!session_) return;
  auto period = std::chrono::milliseconds(config_.session_timeout_ms / 4);
  keep_alive_timer_ = loop_.schedule(period, [this] { keep_alive(); });
  if (loop_.now() - last_activity_ < period) return;  // commands keep it alive
  last_activity_ = loop_.now();
  raw_(encode(session_->keep_alive()), Duration(0), [](std::error_code, Buffer) {});
}

}  // namespace cohort
