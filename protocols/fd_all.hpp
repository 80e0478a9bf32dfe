#pragma once
// FD_ALL: failure detection by heartbeats (JGroups' FD_ALL). Every `interval` each member
// multicasts a heartbeat; every `timeout_check_interval` it checks the members of its view: one
// not heard from (a heartbeat, or any message when `msg_counts_as_heartbeat`) for `timeout` is
// suspected — an event::suspect goes up at every check until the member is heard again (then
// event::unsuspect) or leaves the view. So a crash is reported within timeout +
// timeout_check_interval.
//
// Loop affinity: everything runs on the channel's loop.
#include <set>
#include <unordered_map>

#include "stack/header.hpp"
#include "stack/protocol.hpp"

namespace cohort {

class FdAllHeader : public Header {
 public:
  void encode(codec::Writer& w) const override { w.u8(1); }
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override { return "FD_ALL heartbeat"; }
};

class FdAll : public Protocol {
 public:
  FdAll();
  void init() override;
  void start() override;
  void stop() override;
  std::any down(Event& ev) override;
  std::any up(Event& ev) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;

  const std::set<Address>& suspected() const { return suspected_; }

 private:
  void heard(const Address& a);
  void send_heartbeat();
  void check();
  void view_changed(const std::any& arg);

  Duration interval_ = 1s;
  Duration timeout_ = 5s;
  Duration timeout_check_interval_ = 500ms;
  bool msg_counts_as_heartbeat_ = true;

  Address local_;
  std::unordered_map<Address, Duration> last_heard_;  // members of the view (others)
  std::set<Address> suspected_;
  TimerHandle hb_timer_, check_timer_;
  bool running_ = false;

  uint64_t& heartbeats_sent_;
  uint64_t& heartbeats_received_;
  uint64_t& suspects_raised_;
};

}  // namespace cohort
