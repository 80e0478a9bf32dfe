#pragma once
// TCP: a transport over TCP connections (JGroups' TCP), on the channel's Asio loop.
//
// * Listening: bind_addr + the first free port of bind_port..bind_port+port_range (bind_port=0:
//   one from the kernel). The socket is bound in init(), so that a taken port is a configuration
//   error ("bind_port: ...") before anything starts; `cohort check` (NullRuntime) binds nothing.
// * One connection per peer pair. A connection is keyed by the peer's listening ("physical")
//   address "host:port" (protocols/physical_address.hpp). The first frame each side sends is a
//   hello (its logical address as the frame's src, its listening address in a TCP header). When
//   both sides connect at once, the connection initiated by the side with the smaller physical
//   address wins on both ends (protocols/tcp_resolution.hpp). The loser hands its queued messages
//   to the winner. Its initiator half-closes it after its last write, once the winner's hello
//   told it the connection lost; the acceptor never half-closes it first (the initiator would
//   drop what it still had queued on it) but reads it until that EOF. Both close it on EOF, so
//   nothing written on it is lost; it is closed anyway when idle for sock_conn_timeout.
// * Wire: u32 little-endian length + one frame (stack/frame.hpp). A length of 0 or above
//   `max_frame_size`, a frame that does not decode, a first frame that is not a hello, a frame
//   whose src is not the peer's, or a stream that ends inside a frame is counted as `malformed`
//   and that connection is closed; the transport keeps running.
// * Bundling: a lone message is written at once; messages queued while a write is in flight go
//   out together in the next write (frames of up to `max_bundle_size`, one frame per run of
//   messages with the same destination). Each connection's queue holds at most
//   `max_send_queue_bytes`; beyond that messages are dropped and counted (`send_queue_full`).
// * Connecting: on demand, when a message is sent to a peer without a connection, bounded by
//   `sock_conn_timeout`. After a failure, sends to that address are dropped (counted) until a
//   retry is due: `reconnect_interval`, doubling up to `max_reconnect_interval`.
// * Addresses: the logical→physical table lives here. It is fed by event::add_physical_address
//   (discovery) and by hellos, and pruned by event::remove_physical_address. A group message goes
//   to every member in the table, and to this member itself (posted to the loop).
// * Receive: each decoded frame is passed up as one MessageBatch.
//
// Loop affinity: everything runs on the channel's loop; requires an AsioRuntime.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include <boost/system/error_code.hpp>

#include "stack/transport.hpp"

namespace cohort {

class Tcp : public Transport {
 public:
  Tcp();
  ~Tcp() override;

  void init() override;
  void start() override;
  void stop() override;
  void destroy() override;
  std::any down(Event& ev) override;

  /// Our listening address "host:port" (set by init()).
  const std::string& physical_address() const { return physical_; }
  /// Connections currently open (registered or still handshaking/retiring). For tests and probes.
  size_t open_connections() const { return all_.size(); }

  struct Connection;

 protected:
  void connect() override;
  void disconnect() override;
  void send_to_group(Message& msg) override;
  void send_to_member(Message& msg) override;

 private:
  using ConnPtr = std::shared_ptr<Connection>;
  void accept_next();
  /// The connection to `physical`, opening one if needed; nullptr while reconnecting is backed off.
  ConnPtr connection_to(const std::string& physical);
  void on_connected(const ConnPtr& c, const boost::system::error_code& ec);
  void enqueue(const ConnPtr& c, const Message& msg);
  void flush(const ConnPtr& c);
  void on_written(const ConnPtr& c, const boost::system::error_code& ec);
  void read_next(const ConnPtr& c);
  void on_read(const ConnPtr& c, const boost::system::error_code& ec, size_t n);
  void handle_frame(const ConnPtr& c, const Buffer& frame);
  void handle_hello(const ConnPtr& c, const Address& peer, const std::string& physical);
  void retire(const ConnPtr& loser, const ConnPtr& winner);
  void arm_retire_timer(const ConnPtr& c);
  void fail(const ConnPtr& c);  // malformed input: count and close
  void close(const ConnPtr& c);
  void deliver_local(const Message& msg);
  void note_connect_failure(const std::string& physical);

  // Attributes
  std::string bind_addr_ = "127.0.0.1";
  int bind_port_ = 7800;
  int port_range_ = 0;
  Duration sock_conn_timeout_ = 2s;
  Duration reconnect_interval_ = 200ms;
  Duration max_reconnect_interval_ = 3s;
  bool tcp_nodelay_ = true;
  uint64_t max_bundle_size_ = 64 * 1024;
  uint64_t max_send_queue_bytes_ = 8 * 1024 * 1024;
  uint64_t max_frame_size_ = 8 * 1024 * 1024;

  struct Impl;  // the Asio acceptor
  std::unique_ptr<Impl> impl_;
  std::string physical_;
  bool running_ = false;
  std::map<std::string, ConnPtr> conns_;           // physical → the connection in use
  std::set<ConnPtr> all_;                          // every open connection
  std::unordered_map<Address, std::string> phys_;  // logical → physical
  struct Backoff {
    Duration delay{};
    Duration retry_at{};
  };
  std::map<std::string, Backoff> backoff_;

  uint64_t& frames_sent_;
  uint64_t& writes_;
  uint64_t& frames_received_;
  uint64_t& connections_opened_;
  uint64_t& connections_closed_;
  uint64_t& connect_failures_;
  uint64_t& send_queue_full_;
  uint64_t& too_big_;
  uint64_t& wrong_cluster_;
  uint64_t& simultaneous_connects_;
};

}  // namespace cohort
