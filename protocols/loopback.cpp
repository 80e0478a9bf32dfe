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
  uint64_t max_inbox = 0;  // the receiver's own limit (its max_inbox attribute)
  std::mutex mu;           // guards inbox and drain_posted
  std::vector<Message> inbox;
  bool drain_posted = false;
  std::atomic<bool> open{true};
  // Highest view id installed (owner's loop only). Asio runs work posted from inside a handler
  // only after that handler returns, so a view posted by the member's own loop can run after a
  // newer one posted from another loop: stale views are skipped.
  uint64_t last_view_id = 0;
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
// Returns false when the receiver's inbox is full (counted as dropped by the sender).
bool enqueue(const std::shared_ptr<Loopback::Endpoint>& ep, const Message& msg,
             void (Loopback::*drain)()) {
  std::lock_guard lock(ep->mu);
  if (!ep->open || ep->inbox.size() >= ep->max_inbox) return false;
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
      if (!ep->transport || view.id().id <= ep->last_view_id) return;
      ep->last_view_id = view.id().id;
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
  self_->max_inbox = max_inbox_;
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
  // Swap in a cleared vector that kept its capacity from an earlier drain, so that senders
  // append without reallocating (growing the inbox from empty was the top cost per message).
  std::vector<Message> msgs = std::move(spare_);
  msgs.clear();
  {
    std::lock_guard lock(self_->mu);
    msgs.swap(self_->inbox);
    self_->drain_posted = false;
  }
  if (msgs.empty()) return;
  // The inbox mixes senders and unicast/group messages; a batch promises one source and one
  // destination, so deliver each run of messages that share both as its own batch.
  auto same_run = [](const Message& a, const Message& b) {
    return a.src() == b.src() && a.dest() == b.dest();
  };
  size_t end = 1;
  while (end < msgs.size() && same_run(msgs.front(), msgs[end]))
    ++end;
  if (end == msgs.size()) {  // the common case: one run, delivered without moving a message
    MessageBatch batch;
    batch.src = msgs.front().src();
    batch.dest = msgs.front().dest();
    batch.messages = std::move(msgs);
    deliver(batch);
    msgs = std::move(batch.messages);
  } else {
    for (size_t begin = 0; begin < msgs.size() && self_;) {
      size_t stop = begin + 1;
      while (stop < msgs.size() && same_run(msgs[begin], msgs[stop]))
        ++stop;
      MessageBatch batch;
      batch.src = msgs[begin].src();
      batch.dest = msgs[begin].dest();
      batch.messages.assign(std::make_move_iterator(msgs.begin() + static_cast<long>(begin)),
                            std::make_move_iterator(msgs.begin() + static_cast<long>(stop)));
      deliver(batch);
      begin = stop;
    }
  }
  msgs.clear();
  if (msgs.capacity() <= max_spare_msgs) spare_ = std::move(msgs);
}

void Loopback::send_to_group(Message& msg) {
  if (!self_) return void(++dropped_);
  std::vector<std::shared_ptr<Endpoint>> targets;
  {
    std::lock_guard lock(registry_mu);
    targets = registry()[cluster_].members;
  }
  for (auto& t : targets)
    if (!enqueue(t, msg, &Loopback::drain_inbox)) ++dropped_;
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
  if (!target || !enqueue(target, msg, &Loopback::drain_inbox)) ++dropped_;
}

}  // namespace cohort
