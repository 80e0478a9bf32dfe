#include "protocols/loopback.hpp"

#include <atomic>
#include <map>
#include <mutex>
#include <vector>

#include "stack/protocol_stack.hpp"
#include "stack/view.hpp"

namespace cohort {

struct Loopback::Endpoint {
  Loopback* transport;  // touched only on the owner's loop; null once disconnected
  std::shared_ptr<Runtime> runtime;
  Address address;
  std::mutex mu;  // guards inbox and drain_posted
  std::vector<Message> inbox;
  bool drain_posted = false;
  std::atomic<bool> open{true};
};

namespace {

struct Cluster {
  std::vector<std::shared_ptr<Loopback::Endpoint>> members;  // in join order
  uint64_t view_id = 0;
};

std::mutex registry_mu;
std::map<std::string, Cluster>& registry() {
  static std::map<std::string, Cluster> r;
  return r;
}

// Delivers a copy of msg into the endpoint's inbox; posts a drain only when the inbox was empty,
// so consecutive sends are coalesced into one batch on the receiver's loop.
// Returns false when the inbox is full (counted as dropped by the sender).
bool enqueue(const std::shared_ptr<Loopback::Endpoint>& ep, const Message& msg, uint64_t max_inbox,
             void (Loopback::*drain)()) {
  std::lock_guard lock(ep->mu);
  if (!ep->open || ep->inbox.size() >= max_inbox) return false;
  ep->inbox.push_back(msg);
  if (!ep->drain_posted) {
    ep->drain_posted = true;
    ep->runtime->post([ep, drain] {
      if (ep->transport) (ep->transport->*drain)();
    });
  }
  return true;
}

void install_view(const std::string& cluster_name, Cluster& c) {
  if (c.members.empty()) return;
  ++c.view_id;
  std::vector<Address> members;
  for (auto& m : c.members)
    members.push_back(m->address);
  View view(ViewId{members.front(), c.view_id}, members);
  for (auto& m : c.members) {
    m->runtime->post([ep = m, view] {
      if (!ep->transport) return;
      Event ev(event::view_change, view);
      ep->transport->up_protocol()->up(ev);
    });
  }
  (void)cluster_name;
}

}  // namespace

Loopback::Loopback() : Transport("LOOPBACK") {
  declare("views", views_, "install views from in-process membership (off when GMS is used)");
  declare("max_inbox", max_inbox_, "messages queued for one receiver before sends are dropped");
}

Loopback::~Loopback() {
  if (self_) disconnect();
}

std::any Loopback::down(Event& ev) {
  if (ev.type == event::find_members) {
    std::lock_guard lock(registry_mu);
    std::vector<Address> out;
    for (auto& m : registry()[cluster_].members)
      out.push_back(m->address);
    return out;
  }
  return Transport::down(ev);
}

void Loopback::connect() {
  self_ = std::make_shared<Endpoint>();
  self_->transport = this;
  self_->runtime = stack().runtime_ptr();
  self_->address = local_;
  std::lock_guard lock(registry_mu);
  Cluster& c = registry()[cluster_];
  c.members.push_back(self_);
  if (views_) install_view(cluster_, c);
}

void Loopback::disconnect() {
  if (!self_) return;
  {
    std::lock_guard lock(self_->mu);
    self_->open = false;
    self_->inbox.clear();
  }
  self_->transport = nullptr;
  last_target_.reset();
  std::lock_guard lock(registry_mu);
  auto it = registry().find(cluster_);
  if (it != registry().end()) {
    auto& ms = it->second.members;
    std::erase(ms, self_);
    if (ms.empty())
      registry().erase(it);
    else if (views_)
      install_view(cluster_, it->second);
  }
  self_.reset();
}

void Loopback::drain_inbox() {
  std::vector<Message> msgs;
  {
    std::lock_guard lock(self_->mu);
    msgs.swap(self_->inbox);
    self_->drain_posted = false;
  }
  if (msgs.empty()) return;
  MessageBatch batch;
  batch.messages = std::move(msgs);
  batch.src = batch.messages.front().src();
  deliver(batch);
}

void Loopback::send_to_group(Message& msg) {
  if (!self_) return void(++dropped_);
  std::vector<std::shared_ptr<Endpoint>> targets;
  {
    std::lock_guard lock(registry_mu);
    targets = registry()[cluster_].members;
  }
  for (auto& t : targets)
    if (!enqueue(t, msg, max_inbox_, &Loopback::drain_inbox)) ++dropped_;
}

void Loopback::send_to_member(Message& msg) {
  if (!self_) return void(++dropped_);
  std::shared_ptr<Endpoint> target;
  if (last_target_ && last_target_->address == msg.dest() && last_target_->open) {
    target = last_target_;  // the common case: a stream of messages to one member
  } else {
    std::lock_guard lock(registry_mu);
    for (auto& m : registry()[cluster_].members)
      if (m->address == msg.dest()) target = m;
    last_target_ = target;
  }
  if (!target || !enqueue(target, msg, max_inbox_, &Loopback::drain_inbox)) ++dropped_;
}

}  // namespace cohort
