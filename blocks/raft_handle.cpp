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
  event_listener_ = channel_.on_event([this](const Event& ev) { on_event(ev); });
  std::string owner = raft_id_.empty() ? channel_.stack().protocols().front()->name() : raft_id_;
  submitter_ = std::make_unique<SessionSubmitter>(
      owner, config_, channel_.runtime(),
      [this](Buffer envelope, Duration timeout, SessionSubmitter::ResultHandler done) {
        raft::ClientSubmit s;
        s.command = std::move(envelope);
        s.timeout = timeout;
        s.done = [done = std::move(done)](std::error_code ec, Buffer result, raft::Index) {
          done(ec, std::move(result));
        };
        Event ev(raft::raft_event::client_submit, std::move(s));
        channel_.stack().down(ev);
      });
  StateMachine* sm = sm_.get();
  channel_.runtime().post([this, sm] {
    Event ev(raft::raft_event::set_state_machine, sm);
    channel_.stack().down(ev);
  });
}

RaftHandle::~RaftHandle() {
  *alive_ = false;
  channel_.remove_event_listener(event_listener_);
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
    if (submitter_->session_id() != n.session_id) return;
    if (n.service.empty()) return submitter_->session_ended(n.session_id);
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
  channel_.runtime().post(
      [this, wrapped = std::move(wrapped), done = std::move(done), timeout]() mutable {
        submitter_->submit(std::move(wrapped), std::move(done), timeout);
      });
}

void RaftHandle::submit_on_loop(std::string_view service, const Buffer& command, ResultHandler done,
                                Duration timeout) {
  submitter_->submit(ServiceRegistry::wrap(service, command), std::move(done), timeout);
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

void RaftHandle::read_on_loop(std::string_view service, const Buffer& query, ReadMode mode,
                              ReadHandler done, Duration timeout) {
  raft::ClientRead r;
  r.query = ServiceRegistry::wrap(service, query);
  r.mode = mode;
  r.timeout = timeout;
  r.done = std::move(done);
  Event ev(raft::raft_event::client_read, std::move(r));
  channel_.stack().down(ev);
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
