#pragma once
// UDP: a transport over UDP datagrams and IP multicast (JGroups' UDP), on the channel's Asio loop.
//
// * Sockets: a unicast socket on bind_addr and the first free port of bind_port..+port_range
//   (bind_port=0: one from the kernel). Its "host:port" is this member's physical address; every
//   datagram, multicast ones included, is sent from it. A multicast socket bound to
//   mcast_addr:mcast_port (SO_REUSEADDR, so several members on one host share the port) joins the
//   group on the interface of bind_addr. The unicast socket sends multicasts out of that interface
//   (IP_MULTICAST_IF = bind_addr), with IP_MULTICAST_TTL = ip_ttl and IP_MULTICAST_LOOP on, so
//   members on the same host (127.0.0.1 included) hear each other. Sockets are opened in init(),
//   so a taken port is a configuration error before anything starts; `cohort check` (NullRuntime)
//   and the simulator open nothing.
// * Wire: one frame (stack/frame.hpp) per datagram. A datagram that does not decode is counted
//   as `malformed` and dropped; one of another cluster counts as `wrong_cluster`; one addressed
//   to another member counts as dropped. A message whose frame exceeds a datagram
//   (max_datagram_size) is dropped and counted as `too_big` with a log line: FRAG, above the
//   transport, keeps messages below that size.
// * Group messages go to mcast_addr:mcast_port once, and are delivered to this member directly
//   (posted to the loop); our own multicasts coming back through IP_MULTICAST_LOOP are skipped.
//   Messages to one member go to its physical address; to an unknown member they are dropped.
// * Bundling: a message is sent at once when nothing is queued. Messages sent while the loop is
//   busy (in the same loop turn, or before the flush posted after the first one runs) are queued
//   and sent when the loop gets to that flush: runs of messages to the same destination share
//   datagrams of up to max_bundle_size bytes. So a lone message is never held back by a timer,
//   and a burst costs one datagram per max_bundle_size. DONT_BUNDLE messages go alone. When the
//   kernel refuses a send for lack of buffer space (EAGAIN) the queue waits for the socket to
//   become writable; it holds at most max_send_queue_bytes (beyond that: `send_queue_full`).
// * Receive: each datagram is passed up as one MessageBatch; after a datagram arrives, the
//   socket is drained without blocking (up to a bound per turn) before waiting again.
// * Addresses: the logical→physical table is fed by event::add_physical_address (discovery) and
//   by the source of received unicast datagrams, pruned by event::remove_physical_address.
//
// Loop affinity: everything runs on the channel's loop; requires an AsioRuntime.
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "stack/transport.hpp"

namespace cohort {

class Udp : public Transport {
 public:
  /// Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP).
  static constexpr size_t max_datagram_size = 65507;

  Udp();
  ~Udp() override;

  void init() override;
  void start() override;
  void stop() override;
  void destroy() override;
  std::any down(Event& ev) override;
  bool supports_multicast() const override { return true; }

  /// Our unicast address "host:port" (set by init()).
  const std::string& physical_address() const { return physical_; }
  /// "group:port" the group messages go to.
  std::string multicast_address() const;

 protected:
  void connect() override;
  void disconnect() override;
  void send_to_group(Message& msg) override;
  void send_to_member(Message& msg) override;

 private:
  struct Impl;
  struct Pending {
    std::string target;  // physical "host:port"; "" = the multicast group
    Message msg;
    size_t size;  // approximate encoded size
  };
  void enqueue(std::string target, const Message& msg);
  void post_flush();
  void flush();
  /// Encodes msgs (same target and dest) into one datagram and sends it; false on EAGAIN.
  bool send_datagram(const std::string& target, std::span<const Message> msgs);
  void wait_writable();
  void receive_next(bool multicast);
  void handle_datagram(const uint8_t* data, size_t n, bool multicast);
  void deliver_local(const Message& msg);
  void too_big(const Message& msg, size_t frame_size);

  // Attributes
  std::string bind_addr_ = "127.0.0.1";
  int bind_port_ = 0;
  int port_range_ = 0;
  std::string mcast_addr_ = "228.8.8.8";
  int mcast_port_ = 45588;
  int ip_ttl_ = 2;
  uint64_t max_bundle_size_ = 64000;
  uint64_t max_send_queue_bytes_ = 8 * 1024 * 1024;
  uint64_t ucast_recv_buf_size_ = 5 * 1024 * 1024;
  uint64_t ucast_send_buf_size_ = 1024 * 1024;
  uint64_t mcast_recv_buf_size_ = 5 * 1024 * 1024;
  uint64_t mcast_send_buf_size_ = 1024 * 1024;

  std::unique_ptr<Impl> impl_;
  std::string physical_;
  bool running_ = false;
  bool flush_posted_ = false;
  bool waiting_writable_ = false;
  std::deque<Pending> pending_;
  size_t pending_bytes_ = 0;
  std::unordered_map<Address, std::string> phys_;  // logical → physical
  uint64_t too_big_logged_ = 0;

  uint64_t& datagrams_sent_;
  uint64_t& datagrams_received_;
  uint64_t& multicasts_sent_;
  uint64_t& bundled_msgs_;
  uint64_t& send_errors_;
  uint64_t& send_queue_full_;
  uint64_t& would_block_;
  uint64_t& too_big_count_;
  uint64_t& wrong_cluster_;
};

}  // namespace cohort
