#pragma once
// NAKACK: reliable multicast, FIFO per sender (JGroups' NAKACK2 + STABLE, simplified).
//
// The sender numbers its group messages (seqno 1, 2, ...) and keeps each one in its retransmit
// buffer. Receivers deliver each sender's messages in seqno order, drop duplicates, and every
// `xmit_interval` ask the original sender (negative ack, XMIT_REQ) for the seqnos missing below
// the highest one they have seen; the sender retransmits them by unicast.
//
// STABLE: every `stable_interval` each member multicasts its digest — for every sender, the
// highest seqno it delivered in order (its own entry is the highest seqno it sent, which reveals
// a lost last message to receivers; the digest's `low` lets a receiver that never got any
// message of that member start). A sender purges from its buffer what every member of the
// current view has delivered. Each data message carries `low`, the lowest seqno still in the
// sender's buffer: a receiver without state for that sender starts there, and a receiver that is
// behind `low` skips what can no longer be retransmitted (a member that was not in the sender's
// view then; counted as `missing_skipped`).
//
// Flags: NO_RELIABILITY messages pass without a header (best effort). OOB messages are reliable
// but delivered as soon as they arrive (not held back by gaps), exactly once; in-order delivery
// later skips them. Own multicasts are delivered to self by a posted call, in order.
//
// Limits: at most `max_recv_window` seqnos buffered ahead of the next expected one per sender
// (beyond: dropped and counted; they are retransmitted later); at most `max_xmit_req` seqnos per
// XMIT_REQ.
//
// Loop affinity: everything runs on the channel's loop.
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "stack/header.hpp"
#include "stack/protocol.hpp"

namespace cohort {

class NakackHeader : public Header {
 public:
  enum Type : uint8_t { msg = 1, xmit_req = 2, stable = 3 };
  explicit NakackHeader(Type t) : type(t) {}
  Type type;
  uint64_t seqno = 0;  ///< msg
  uint64_t low = 0;    ///< msg, stable: lowest seqno in the sender's buffer
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  ///< xmit_req: [first, last] missing
  std::vector<std::pair<Address, uint64_t>> digest;   ///< stable: sender → highest delivered
  void encode(codec::Writer& w) const override;
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override;
};

class Nakack : public Protocol {
 public:
  Nakack();
  void init() override;
  void start() override;
  void stop() override;
  void down(Message& msg) override;
  std::any down(Event& ev) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;
  std::any up(Event& ev) override;

  /// Messages held in this member's retransmit buffer (own multicasts not yet stable).
  size_t buffered() const { return sent_.size(); }
  uint64_t highest_sent() const { return seqno_; }
  /// Highest seqno of `sender` delivered in order here (0 if unknown).
  uint64_t delivered(const Address& sender) const;

 private:
  struct Slot {
    Message msg;
    bool delivered = false;  // an OOB message delivered on arrival
  };
  struct Window {
    uint64_t next_expected = 1;
    uint64_t highest_seen = 0;
    std::map<uint64_t, Slot> buffered;
  };
  void handle(Message& msg, const NakackHeader& h);
  void handle_msg(Message& msg, const NakackHeader& h);
  void handle_xmit_req(const Address& src, const NakackHeader& h);
  void handle_stable(const Address& src, const NakackHeader& h);
  void deliver_in_order(const Address& sender, Window& w);
  void send_xmit_reqs();
  void send_stable();
  void purge();
  void view_changed(const std::any& arg);
  uint64_t low() const { return sent_.empty() ? seqno_ + 1 : sent_.begin()->first; }

  Duration xmit_interval_ = 200ms;
  Duration stable_interval_ = 1s;
  uint64_t max_recv_window_ = 100000;
  uint64_t max_xmit_req_ = 512;

  Address local_;
  uint64_t seqno_ = 0;
  std::map<uint64_t, Message> sent_;  // own multicasts not yet stable (without our header)
  std::unordered_map<Address, Window> windows_;
  std::vector<Address> view_;
  std::unordered_map<Address, std::unordered_map<Address, uint64_t>> digests_;  // member → digest
  TimerHandle xmit_timer_, stable_timer_;
  bool running_ = false;

  uint64_t& msgs_sent_;
  uint64_t& msgs_delivered_;
  uint64_t& oob_delivered_;
  uint64_t& duplicates_;
  uint64_t& xmit_reqs_sent_;
  uint64_t& xmit_reqs_received_;
  uint64_t& xmits_sent_;
  uint64_t& xmits_unavailable_;
  uint64_t& recv_window_full_;
  uint64_t& missing_skipped_;
  uint64_t& stable_sent_;
  uint64_t& purged_;
};

}  // namespace cohort
