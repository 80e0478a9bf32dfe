#pragma once
// UNICAST: reliable, ordered delivery of messages to one member (JGroups' UNICAST3, simplified).
//
// Per peer there is one send connection and one receive connection, each named by a conn_id the
// sender picks (a per-channel counter, so a newer connection always has a higher id). Data
// messages carry (conn_id, seqno, low) where `low` is the lowest seqno the sender still holds
// unacknowledged: a receiver that has no state for that connection (first contact, or it expired
// the connection) starts at `low`, so it never waits for messages that were already acknowledged.
// Receivers deliver in seqno order, suppress duplicates and send cumulative acks (highest seqno
// delivered in order); senders retransmit what is unacked every `xmit_interval`.
//
// A restarted member has a new Address, hence a new connection on both sides; a connection to a
// member that is not in the current view and that has been silent for `conn_expiry_timeout` is
// closed (its state dropped).
//
// Limits (each counted when hit): at most `max_send_window` unacked messages per peer — further
// messages queue, up to `max_send_queue`, beyond which they are dropped; the receiver buffers at
// most `max_recv_window` seqnos ahead of the next one it expects (the sender retransmits the
// rest later).
//
// Group messages, messages flagged NO_RELIABILITY and messages to self (delivered by a posted
// call, never through the network) pass without a header. OOB unicasts are delivered in order
// like the others (a simpler choice than JGroups, which delivers them at once).
//
// Loop affinity: everything runs on the channel's loop.
#include <deque>
#include <map>
#include <set>
#include <unordered_map>

#include "stack/header.hpp"
#include "stack/protocol.hpp"

namespace cohort {

class UnicastHeader : public Header {
 public:
  enum Type : uint8_t { data = 1, ack = 2 };
  UnicastHeader(Type t, uint64_t conn, uint64_t seq, uint64_t lo = 0)
      : type(t), conn_id(conn), seqno(seq), low(lo) {}
  Type type;
  uint64_t conn_id;
  uint64_t seqno;  ///< data: this message; ack: highest seqno delivered in order
  uint64_t low;    ///< data only: lowest unacked seqno at the sender
  void encode(codec::Writer& w) const override;
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override;
};

class Unicast : public Protocol {
 public:
  Unicast();
  void init() override;
  void start() override;
  void stop() override;
  void down(Message& msg) override;
  std::any down(Event& ev) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;
  std::any up(Event& ev) override;

  size_t send_connections() const { return send_.size(); }
  size_t recv_connections() const { return recv_.size(); }
  /// Unacked + queued messages to all peers.
  size_t unacked() const;

 private:
  struct SendEntry {
    uint64_t conn_id = 0;
    uint64_t next_seqno = 1;
    std::map<uint64_t, Message> unacked;  // seqno → message without our header
    std::deque<Message> queued;           // waiting for room in the window
    Duration last_active{};
  };
  struct RecvEntry {
    uint64_t conn_id = 0;
    uint64_t next_expected = 1;
    std::map<uint64_t, Message> buffered;
    Duration last_active{};
  };
  void transmit(const Address& dest, SendEntry& e, Message msg);
  void send_data(const Address& dest, const SendEntry& e, uint64_t seqno, const Message& msg);
  /// Returns true if an ack should be sent to the message's source.
  bool handle(Message& msg, const UnicastHeader& h);
  bool handle_data(Message& msg, const UnicastHeader& h);
  void handle_ack(const Address& src, const UnicastHeader& h);
  void send_ack(const Address& peer);
  void tick();
  void view_changed(const std::any& arg);

  Duration xmit_interval_ = 200ms;
  Duration conn_expiry_timeout_ = 60s;
  uint64_t max_send_window_ = 1024;
  uint64_t max_send_queue_ = 100000;
  uint64_t max_recv_window_ = 4096;

  Address local_;
  uint64_t conn_counter_ = 0;
  std::unordered_map<Address, SendEntry> send_;
  std::unordered_map<Address, RecvEntry> recv_;
  std::set<Address> view_members_;
  TimerHandle tick_timer_;
  bool running_ = false;

  uint64_t& msgs_sent_;
  uint64_t& msgs_delivered_;
  uint64_t& xmits_;
  uint64_t& acks_sent_;
  uint64_t& acks_received_;
  uint64_t& duplicates_;
  uint64_t& send_window_full_;
  uint64_t& send_queue_full_;
  uint64_t& recv_window_full_;
  uint64_t& stale_conn_;
  uint64_t& conns_reset_;
  uint64_t& conns_expired_;
  uint64_t& bad_headers_;
};

}  // namespace cohort
