#include "blocks/raft_handle.hpp"

#include <spdlog/spdlog.h>

#include "blocks/block_status.hpp"

namespace cohort {

RaftHandle::RaftHandle(Channel& channel, SessionConfig config)
    : channel_(channel), config_(config) {
  auto registry = std::make_unique<ServiceRegistry>();
  registry_ = registry.get();
  sm_ = std::make_unique<SessionStateMachine>(std::move(registry), config_);
  for (auto& p : channel_.stack().protocols())
    if (auto* a = p->find_attribute("raft_id")) raft_id_ = a->get();
  channel_.on_event([this](const Event& ev) { on_event(ev); });
  StateMachine* sm = sm_.get();
  channel_.runtime().post([this, sm] {
    Event ev(raft::raft_event::set_state_machine, sm);
    channel_.stack().down(ev);
  });
}

RaftHandle::~RaftHandle() {
  *alive_ = false;
  channel_.on_event(nullptr);
}

void RaftHandle::on_event(const Event& ev) {
  if (ev.type == event::leader_changed) {
    const auto& lc = ev.get<raft::LeaderChanged>();
    {
      std::lock_guard lock(mu_);
      leader_state_ = lc;
    }
    for (auto& l : leader_listeners_)
      l(lc);
  } else if (ev.type == raft::raft_event::notification) {
    const auto& n = ev.get<Notification>();
    if (!session_ || n.session_id != session_->id()) return;
    if (n.service.empty()) {  // our session expired: the next command opens a new one
      session_.reset();
      return;
    }
    auto it = notification_listeners_.find(n.service);
    if (it != notification_listeners_.end())
      for (auto& l : it->second)
        l(n);
  }
}

std::string RaftHandle::leader() const {
  std::lock_guard lock(mu_);
  return leader_state_.leader;
}
raft::Term RaftHandle::term() const {
  std::lock_guard lock(mu_);
  return leader_state_.term;
}
bool RaftHandle::is_leader() const {
  std::lock_guard lock(mu_);
  return leader_state_.role == raft::Role::leader;
}

void RaftHandle::on_leader_change(LeaderListener l) {
  channel_.runtime().post([this, l = std::move(l)] { leader_listeners_.push_back(l); });
}

void RaftHandle::on_notification(std::string service, NotificationListener l) {
  channel_.runtime().post([this, service = std::move(service), l = std::move(l)] {
    notification_listeners_[service].push_back(l);
  });
}

void RaftHandle::submit(std::string service, Buffer command, ResultHandler done, Duration timeout) {
  Buffer wrapped = ServiceRegistry::wrap(service, command);
  channel_.runtime().post([this, p = Pending{std::move(wrapped), std::move(done), timeout}] {
    if (session_) return send_pending(p);
    waiting_for_session_.push_back(p);
    open_session();
  });
}

void RaftHandle::open_session() {
  if (opening_) return;
  opening_ = true;
  raft::ClientSubmit s;
  s.command =
      encode(Envelope::open_session(raft_id_.empty() ? channel_.address().to_string() : raft_id_));
  // The session is opened on behalf of the first waiting command: its deadline applies.
  if (!waiting_for_session_.empty()) s.timeout = waiting_for_session_.front().timeout;
  s.done = [this, alive = alive_](std::error_code ec, Buffer result, raft::Index) {
    if (!*alive) return;
    opening_ = false;
    BlockResult r = parse_result(result);
    std::optional<uint64_t> id;
    if (!ec && r.ok()) id = decode_session_id(r.body);
    if (!id) {
      // Fail everything that waited; a later submit tries again.
      auto waiting = std::move(waiting_for_session_);
      waiting_for_session_.clear();
      std::error_code err = ec ? ec : make_error_code(ClientErrc::rejected);
      for (auto& p : waiting)
        p.done(err, {});
      return;
    }
    session_.emplace(*id);
    last_activity_ = channel_.runtime().now();
    keep_alive_timer_.cancel();
    keep_alive_timer_ = channel_.runtime().schedule(
        std::chrono::milliseconds(config_.session_timeout_ms / 4), [this] { keep_alive(); });
    auto waiting = std::move(waiting_for_session_);
    waiting_for_session_.clear();
    for (auto& p : waiting)
      send_pending(std::move(p));
  };
  Event ev(raft::raft_event::client_submit, std::move(s));
  channel_.stack().down(ev);
}

void RaftHandle::send_pending(Pending p) {
  Envelope e = session_->next(p.wrapped);
  uint64_t session_id = session_->id();
  raft::ClientSubmit s;
  s.command = encode(e);
  s.timeout = p.timeout;
  last_activity_ = channel_.runtime().now();
  s.done = [this, alive = alive_, p, seq = e.sequence, session_id](
               std::error_code ec, Buffer result, raft::Index) mutable {
    if (!*alive) return;
    if (session_ && session_->id() == session_id) session_->completed(seq);
    if (!ec && parse_result(result).status == BlockStatus::session_expired) {
      // Never applied: safe to resend in a fresh session.
      if (session_ && session_->id() == session_id) session_.reset();
      waiting_for_session_.push_back(std::move(p));
      return open_session();
    }
    p.done(ec, std::move(result));
  };
  Event ev(raft::raft_event::client_submit, std::move(s));
  channel_.stack().down(ev);
}

void RaftHandle::keep_alive() {
  if (!session_) return;
  auto period = std::chrono::milliseconds(config_.session_timeout_ms / 4);
  keep_alive_timer_ = channel_.runtime().schedule(period, [this] { keep_alive(); });
  if (channel_.runtime().now() - last_activity_ < period) return;  // commands keep it alive
  raft::ClientSubmit s;
  s.command = encode(session_->keep_alive());
  s.done = [](std::error_code, Buffer, raft::Index) {};
  last_activity_ = channel_.runtime().now();
  Event ev(raft::raft_event::client_submit, std::move(s));
  channel_.stack().down(ev);
}

void RaftHandle::read(std::string service, Buffer query, ReadMode mode, ReadHandler done,
                      Duration timeout) {
  raft::ClientRead r;
  r.query = ServiceRegistry::wrap(service, query);
  r.mode = mode;
  r.timeout = timeout;
  r.done = std::move(done);
  channel_.runtime().post([this, r = std::move(r)]() mutable {
    Event ev(raft::raft_event::client_read, std::move(r));
    channel_.stack().down(ev);
  });
}

void RaftHandle::add_server(const std::string& id, std::function<void(raft::ProposeOutcome)> done) {
  channel_.runtime().post([this, id, done = std::move(done)] {
    Event ev(raft::raft_event::membership, raft::MembershipChange{true, id});
    done(std::any_cast<raft::ProposeOutcome>(channel_.stack().down(ev)));
  });
}

void RaftHandle::remove_server(const std::string& id,
                               std::function<void(raft::ProposeOutcome)> done) {
  channel_.runtime().post([this, id, done = std::move(done)] {
    Event ev(raft::raft_event::membership, raft::MembershipChange{false, id});
    done(std::any_cast<raft::ProposeOutcome>(channel_.stack().down(ev)));
  });
}

void RaftHandle::transfer_leadership(const std::string& id, std::function<void(bool)> done) {
  channel_.runtime().post([this, id, done = std::move(done)] {
    Event ev(raft::raft_event::transfer_leadership, id);
    auto r = channel_.stack().down(ev);
    done(r.has_value() && std::any_cast<bool>(r));
  });
}

void RaftHandle::snapshot(std::function<void(bool)> done) {
  channel_.runtime().post([this, done = std::move(done)] {
    Event ev(raft::raft_event::snapshot_now);
    auto r = channel_.stack().down(ev);
    done(r.has_value() && std::any_cast<bool>(r));
  });
}

void RaftHandle::status(std::function<void(raft::RaftStatus)> done) {
  channel_.runtime().post([this, done = std::move(done)] {
    Event ev(raft::raft_event::status);
    auto r = channel_.stack().down(ev);
    done(r.has_value() ? std::any_cast<raft::RaftStatus>(r) : raft::RaftStatus{});
  });
}

}  // namespace cohort
