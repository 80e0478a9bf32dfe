#include "protocols/fd_all.hpp"

#include <algorithm>
#include <stdexcept>

#include "stack/protocol_ids.hpp"
#include "stack/view.hpp"

namespace cohort {

HeaderPtr FdAllHeader::decode(codec::Reader& r) {
  if (r.u8() != 1 || !r.ok()) return r.fail("bad FD_ALL header"), nullptr;
  return std::make_shared<FdAllHeader>();
}

FdAll::FdAll()
    : Protocol("FD_ALL"),
      heartbeats_sent_(counter("heartbeats_sent", "heartbeats multicast")),
      heartbeats_received_(counter("heartbeats_received", "heartbeats received")),
      suspects_raised_(counter("suspects_raised", "SUSPECT events sent up")) {
  register_header<FdAllHeader>(protocol_id::fd_all, "FD_ALL");
  declare("interval", interval_, "how often a heartbeat is multicast");
  declare("timeout", timeout_, "a member silent this long is suspected");
  declare("timeout_check_interval", timeout_check_interval_, "how often silence is checked");
  declare("msg_counts_as_heartbeat", msg_counts_as_heartbeat_,
          "any message from a member counts as a heartbeat");
}

void FdAll::init() {
  if (interval_ <= Duration::zero()) throw std::invalid_argument("interval: must be positive");
  if (timeout_ <= interval_) throw std::invalid_argument("timeout: must be above interval");
  if (timeout_check_interval_ <= Duration::zero())
    throw std::invalid_argument("timeout_check_interval: must be positive");
}

void FdAll::start() {
  running_ = true;
  hb_timer_ = runtime().schedule(interval_, [this] { send_heartbeat(); });
  check_timer_ = runtime().schedule(timeout_check_interval_, [this] { check(); });
}

void FdAll::stop() {
  running_ = false;
  hb_timer_.cancel();
  check_timer_.cancel();
  last_heard_.clear();
  suspected_.clear();
}

std::any FdAll::down(Event& ev) {
  if (ev.type == event::set_local_address) local_ = ev.get<Address>();
  if (ev.type == event::view_change) view_changed(ev.arg);
  return Protocol::down(ev);
}

std::any FdAll::up(Event& ev) {
  if (ev.type == event::view_change) view_changed(ev.arg);
  return Protocol::up(ev);
}

void FdAll::view_changed(const std::any& arg) {
  const View& v = std::any_cast<const View&>(arg);
  std::unordered_map<Address, Duration> next;
  Duration now = runtime().now();
  for (auto& m : v.members()) {
    if (m == local_) continue;
    auto it = last_heard_.find(m);
    next[m] = it == last_heard_.end() ? now : it->second;  // a new member gets a full timeout
  }
  last_heard_ = std::move(next);
  std::erase_if(suspected_, [&](const Address& a) { return !v.contains(a); });
}

void FdAll::heard(const Address& a) {
  auto it = last_heard_.find(a);
  if (it == last_heard_.end()) return;
  it->second = runtime().now();
  if (suspected_.erase(a)) {
    Event ev(event::unsuspect, a);
    Protocol::up(ev);
  }
}

void FdAll::up(Message& msg) {
  bool hb = msg.has_header(protocol_id::fd_all);
  if (hb || msg_counts_as_heartbeat_) heard(msg.src());
  if (hb) return void(++heartbeats_received_);
  Protocol::up(msg);
}

void FdAll::up(MessageBatch& batch) {
  std::erase_if(batch.messages, [&](const Message& m) {
    bool hb = m.has_header(protocol_id::fd_all);
    if (hb || msg_counts_as_heartbeat_) heard(m.src());
    if (hb) ++heartbeats_received_;
    return hb;
  });
  if (!batch.empty()) Protocol::up(batch);
}

void FdAll::send_heartbeat() {
  if (!last_heard_.empty()) {
    Message hb{Address()};
    hb.set(Message::INTERNAL).set(Message::NO_RELIABILITY).set(Message::OOB);
    hb.put_header(protocol_id::fd_all, std::make_shared<FdAllHeader>());
    ++heartbeats_sent_;
    Protocol::down(hb);
  }
  if (running_) hb_timer_ = runtime().schedule(interval_, [this] { send_heartbeat(); });
}

void FdAll::check() {
  Duration now = runtime().now();
  std::vector<Address> newly;
  for (auto& [a, t] : last_heard_)
    if (now - t >= timeout_) newly.push_back(a);  // raised again while silent (as JGroups)
  std::sort(newly.begin(), newly.end());          // deterministic order (unordered_map)
  for (auto& a : newly) {
    suspected_.insert(a);
    ++suspects_raised_;
    Event ev(event::suspect, a);
    Protocol::up(ev);
    if (!running_) return;
  }
  check_timer_ = runtime().schedule(timeout_check_interval_, [this] { check(); });
}

}  // namespace cohort
