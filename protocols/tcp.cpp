#include "protocols/tcp.hpp"

#include <fmt/format.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <deque>
#include <stdexcept>

#include "protocols/physical_address.hpp"
#include "protocols/tcp_resolution.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/frame.hpp"
#include "stack/protocol_ids.hpp"
#include "stack/protocol_stack.hpp"

namespace cohort {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

constexpr size_t read_chunk = 64 * 1024;  // bytes asked of the kernel per read (at least)
constexpr size_t max_physical_length = 256;

/// The hello's header: the sender's listening address.
class TcpHeader : public Header {
 public:
  explicit TcpHeader(std::string physical) : physical(std::move(physical)) {}
  std::string physical;
  void encode(codec::Writer& w) const override { w.str(physical); }
  static HeaderPtr decode(codec::Reader& r) {
    auto p = r.bytes_view();
    if (!r.ok()) return nullptr;
    if (p.size() > max_physical_length) return r.fail("physical address too long"), nullptr;
    return std::make_shared<TcpHeader>(
        std::string(reinterpret_cast<const char*>(p.data()), p.size()));
  }
  std::string to_string() const override { return "hello " + physical; }
};

/// A cheap upper bound of a message's encoded size (queue accounting, bundle splitting).
size_t approx_size(const Message& m) {
  return m.payload().size() + 16 + 32 * m.header_count();
}

}  // namespace

struct Tcp::Impl {
  explicit Impl(asio::io_context& io) : io(io), acceptor(io) {}
  asio::io_context& io;
  tcp::acceptor acceptor;
};

struct Tcp::Connection {
  explicit Connection(asio::io_context& io) : sock(io) {}
  tcp::socket sock;
  bool outgoing = false;
  std::string key;  // the physical address it is registered under in conns_ ("" = not yet)
  Address peer;     // from the hello
  bool connected = false;
  bool hello_sent = false;
  bool hello_received = false;
  bool retiring = false;
  bool closed = false;
  bool writing = false;
  std::deque<Message> pending;
  size_t pending_bytes = 0;
  std::vector<uint8_t> wbuf;
  std::vector<uint8_t> in;
  size_t in_len = 0;
  TimerHandle timer;  // connect / hello / retire timeout
};

Tcp::Tcp()
    : Transport("TCP"),
      frames_sent_(counter("frames_sent", "frames written (each bundles one or more messages)")),
      writes_(counter("writes", "socket writes (each holds one or more frames)")),
      frames_received_(counter("frames_received", "frames received and decoded")),
      connections_opened_(counter("connections_opened", "connections accepted or established")),
      connections_closed_(counter("connections_closed", "connections closed")),
      connect_failures_(
          counter("connect_failures", "connection attempts that failed or timed out")),
      send_queue_full_(
          counter("send_queue_full", "messages dropped: max_send_queue_bytes reached")),
      too_big_(counter("too_big", "messages dropped: larger than max_frame_size")),
      wrong_cluster_(counter("wrong_cluster", "connections closed: peer of another cluster")),
      simultaneous_connects_(
          counter("simultaneous_connects", "duplicate connections resolved to one per peer")) {
  register_header<TcpHeader>(protocol_id::tcp, "TCP");
  declare("bind_addr", bind_addr_, "the IP address to listen on (and advertise to peers)");
  declare("bind_port", bind_port_, "the first port to try (0: a port from the kernel)");
  declare("port_range", port_range_, "also try the next port_range ports if bind_port is taken");
  declare("sock_conn_timeout", sock_conn_timeout_, "give up connecting (or handshaking) after");
  declare("reconnect_interval", reconnect_interval_,
          "after a failed connect, wait this long before the next attempt (doubles)");
  declare("max_reconnect_interval", max_reconnect_interval_, "cap of the reconnect backoff");
  declare("tcp_nodelay", tcp_nodelay_, "disable Nagle's algorithm (bundling batches instead)");
  declare_size("max_bundle_size", max_bundle_size_, "bytes of messages bundled into one write");
  declare_size("max_send_queue_bytes", max_send_queue_bytes_,
               "bytes queued per connection before messages are dropped");
  declare_size("max_frame_size", max_frame_size_,
               "largest frame sent or accepted; larger input is malformed");
}

Tcp::~Tcp() {
  destroy();
}

void Tcp::init() {
  if (port_range_ < 0 || port_range_ > 1000)
    throw std::invalid_argument("port_range: must be between 0 and 1000");
  if (bind_port_ < 0 || bind_port_ + port_range_ > 65535)
    throw std::invalid_argument("bind_port: must be between 0 and 65535 (with port_range)");
  auto ip = physical::parse_ip(bind_addr_);
  if (!ip)
    throw std::invalid_argument(fmt::format("bind_addr: '{}' is not an IP address", bind_addr_));
  if (ip->is_unspecified())
    throw std::invalid_argument("bind_addr: must be a concrete address (peers connect to it)");
  if (max_frame_size_ < 1024 || max_frame_size_ > (1u << 30))
    throw std::invalid_argument("max_frame_size: must be between 1KB and 1GB");
  if (max_bundle_size_ == 0 || max_bundle_size_ > max_frame_size_)
    throw std::invalid_argument("max_bundle_size: must be between 1 and max_frame_size");
  if (max_send_queue_bytes_ == 0)
    throw std::invalid_argument("max_send_queue_bytes: must be positive");
  if (sock_conn_timeout_ <= Duration::zero())
    throw std::invalid_argument("sock_conn_timeout: must be positive");
  if (reconnect_interval_ <= Duration::zero() || max_reconnect_interval_ < reconnect_interval_)
    throw std::invalid_argument(
        "reconnect_interval: must be positive and at most max_reconnect_interval");

  // Only a real loop can listen; NullRuntime (cohort check) and the simulator validate only.
  auto* rt = dynamic_cast<AsioRuntime*>(&runtime());
  if (!rt) return;
  impl_ = std::make_unique<Impl>(rt->io_context());
  boost::system::error_code ec;
  int last = bind_port_ == 0 ? 0 : bind_port_ + port_range_;
  for (int port = bind_port_; port <= last; ++port) {
    auto& a = impl_->acceptor;
    tcp::endpoint ep(*ip, static_cast<uint16_t>(port));
    boost::system::error_code ignored;
    if (a.is_open()) a.close(ignored);
    a.open(ep.protocol(), ec);
    if (!ec) a.set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) a.bind(ep, ec);
    if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) {
      physical_ = physical::format(a.local_endpoint());
      return;
    }
  }
  impl_->acceptor.close(ec);
  throw std::invalid_argument(
      fmt::format("bind_port: cannot listen on {} port {}{}: {}", bind_addr_, bind_port_,
                  last > bind_port_ ? fmt::format("..{}", last) : std::string(), ec.message()));
}

void Tcp::start() {
  if (!impl_) throw std::logic_error("TCP needs an AsioRuntime");
  running_ = true;
  accept_next();
}

void Tcp::stop() {
  running_ = false;
  if (impl_) {
    boost::system::error_code ec;
    impl_->acceptor.close(ec);
  }
  auto all = all_;
  for (auto& c : all)
    close(c);
  conns_.clear();
  backoff_.clear();
}

void Tcp::destroy() {
  stop();
  phys_.clear();
}

void Tcp::connect() {}

void Tcp::disconnect() {
  // Queued messages (discovery's leave) are already being written; stop() closes the sockets.
}

std::any Tcp::down(Event& ev) {
  switch (ev.type) {
    case event::get_physical_address: {
      const auto& a = ev.get<Address>();
      if (a == local_) return physical_;
      auto it = phys_.find(a);
      return it == phys_.end() ? std::string() : it->second;
    }
    case event::add_physical_address: {
      const auto& [a, p] = ev.get<std::pair<Address, std::string>>();
      std::string canonical = physical::canonical(p);
      if (a != local_ && !canonical.empty()) phys_[a] = canonical;
      return {};
    }
    case event::remove_physical_address:
      phys_.erase(ev.get<Address>());
      return {};
    case event::send_to_physical: {
      const auto& [p, m] = ev.get<std::pair<std::string, Message>>();
      std::string canonical = physical::canonical(p);
      if (canonical.empty() || canonical == physical_ || !running_) return {};
      Message msg = m;
      msg.src(local_).dest(Address());
      ++msgs_sent_;
      bytes_sent_ += msg.payload().size();
      if (auto c = connection_to(canonical))
        enqueue(c, msg);
      else
        ++dropped_;
      return {};
    }
    default:
      return Transport::down(ev);
  }
}

void Tcp::deliver_local(const Message& msg) {
  runtime().post([this, m = msg]() mutable {
    if (running_) deliver(m);
  });
}

void Tcp::send_to_group(Message& msg) {
  if (!running_) return void(++dropped_);
  std::set<std::string> targets;
  for (auto& [a, p] : phys_)
    targets.insert(p);
  for (auto& p : targets) {
    if (auto c = connection_to(p))
      enqueue(c, msg);
    else
      ++dropped_;
  }
  deliver_local(msg);
}

void Tcp::send_to_member(Message& msg) {
  if (!running_) return void(++dropped_);
  if (msg.dest() == local_) return deliver_local(msg);
  auto it = phys_.find(msg.dest());
  if (it == phys_.end()) return void(++dropped_);
  if (auto c = connection_to(it->second))
    enqueue(c, msg);
  else
    ++dropped_;
}

// --- Connections --------------------------------------------------------------------------------

Tcp::ConnPtr Tcp::connection_to(const std::string& physical) {
  if (auto it = conns_.find(physical); it != conns_.end()) return it->second;
  if (auto b = backoff_.find(physical); b != backoff_.end() && runtime().now() < b->second.retry_at)
    return nullptr;
  auto ep = physical::parse(physical);
  if (!ep) return nullptr;
  auto c = std::make_shared<Connection>(impl_->io);
  c->outgoing = true;
  c->key = physical;
  conns_[physical] = c;
  all_.insert(c);
  c->timer = runtime().schedule(sock_conn_timeout_, [c] {
    boost::system::error_code ignored;
    c->sock.close(ignored);  // completes the connect with an error
  });
  c->sock.async_connect(*ep, [this, c](const boost::system::error_code& ec) {
    if (c->closed) return;
    on_connected(c, ec);
  });
  return c;
}

void Tcp::note_connect_failure(const std::string& physical) {
  ++connect_failures_;
  Backoff& b = backoff_[physical];
  b.delay = b.delay == Duration::zero() ? reconnect_interval_
                                        : std::min(b.delay * 2, max_reconnect_interval_);
  b.retry_at = runtime().now() + b.delay;
}

void Tcp::on_connected(const ConnPtr& c, const boost::system::error_code& ec) {
  c->timer.cancel();
  if (ec || !c->sock.is_open()) {
    note_connect_failure(c->key);
    return close(c);
  }
  ++connections_opened_;
  c->connected = true;
  boost::system::error_code ignored;
  c->sock.set_option(tcp::no_delay(tcp_nodelay_), ignored);
  // The peer must answer with its hello within sock_conn_timeout.
  c->timer = runtime().schedule(sock_conn_timeout_, [this, c] {
    if (!c->closed && !c->hello_received) fail(c);
  });
  read_next(c);
  flush(c);
}

void Tcp::accept_next() {
  auto c = std::make_shared<Connection>(impl_->io);
  impl_->acceptor.async_accept(c->sock, [this, c](const boost::system::error_code& ec) {
    if (!running_ || ec == asio::error::operation_aborted) return;
    if (!ec) {
      ++connections_opened_;
      c->connected = true;
      all_.insert(c);
      boost::system::error_code ignored;
      c->sock.set_option(tcp::no_delay(tcp_nodelay_), ignored);
      c->timer = runtime().schedule(sock_conn_timeout_, [this, c] {
        if (!c->closed && !c->hello_received) fail(c);
      });
      read_next(c);
      flush(c);  // our hello
    }
    accept_next();
  });
}

void Tcp::close(const ConnPtr& c) {
  if (c->closed) return;
  c->closed = true;
  c->timer.cancel();
  boost::system::error_code ignored;
  c->sock.close(ignored);
  if (!c->key.empty()) {
    auto it = conns_.find(c->key);
    if (it != conns_.end() && it->second == c) conns_.erase(it);
  }
  if (all_.erase(c) && c->connected) ++connections_closed_;
  dropped_ += c->pending.size();
  c->pending.clear();
  c->pending_bytes = 0;
}

void Tcp::fail(const ConnPtr& c) {
  ++malformed_;
  close(c);
}

// --- Sending ------------------------------------------------------------------------------------

void Tcp::enqueue(const ConnPtr& c, const Message& msg) {
  size_t size = approx_size(msg);
  if (size + 1024 > max_frame_size_) return void(++too_big_), void(++dropped_);
  if (c->pending_bytes + size > max_send_queue_bytes_) {
    ++send_queue_full_;
    ++dropped_;
    return;
  }
  c->pending.push_back(msg);
  c->pending_bytes += size;
  if (c->connected && !c->writing) flush(c);
}

void Tcp::flush(const ConnPtr& c) {
  if (c->closed || c->writing || !c->connected) return;
  // Bundle: take queued messages up to max_bundle_size bytes (at least one) for this write...
  std::vector<Message> batch;
  size_t budget = 0;
  if (!c->retiring) {
    auto& p = c->pending;
    while (!p.empty() && (batch.empty() || budget + approx_size(p.front()) <= max_bundle_size_)) {
      budget += approx_size(p.front());
      batch.push_back(std::move(p.front()));
      p.pop_front();
    }
    c->pending_bytes -= budget;
  }
  codec::Writer w(budget + 1024);
  auto add_frame = [&](const Address& dest, std::span<const Message> msgs) {
    size_t pos = w.size();
    w.u32(0);
    encode_frame(w, cluster_, local_, dest, msgs);
    w.patch_u32(pos, static_cast<uint32_t>(w.size() - pos - 4));
    ++frames_sent_;
  };
  if (!c->hello_sent) {
    Message hello;
    hello.set(Message::INTERNAL)
        .put_header(protocol_id::tcp, std::make_shared<TcpHeader>(physical_));
    add_frame(Address(), std::span(&hello, 1));
    c->hello_sent = true;
  }
  // ...and encode each run of messages with the same destination as one frame.
  for (size_t i = 0; i < batch.size();) {
    size_t j = i + 1;
    while (j < batch.size() && batch[j].dest() == batch[i].dest())
      ++j;
    add_frame(batch[i].dest(), std::span(batch.data() + i, j - i));
    i = j;
  }
  if (w.size() == 0) return;
  c->wbuf = w.take();
  c->writing = true;
  ++writes_;
  asio::async_write(c->sock, asio::buffer(c->wbuf),
                    [this, c](const boost::system::error_code& ec, size_t) {
                      if (c->closed) return;
                      on_written(c, ec);
                    });
}

void Tcp::on_written(const ConnPtr& c, const boost::system::error_code& ec) {
  c->writing = false;
  if (ec) return close(c);
  if (c->retiring) {
    if (!tcp_resolution::half_closes_first(c->outgoing)) return;  // it waits for the peer's EOF
    boost::system::error_code ignored;
    c->sock.shutdown(tcp::socket::shutdown_send, ignored);
    return;
  }
  if (!c->pending.empty()) flush(c);
}

// --- Receiving ----------------------------------------------------------------------------------

void Tcp::read_next(const ConnPtr& c) {
  if (c->in.size() < c->in_len + read_chunk / 4)
    c->in.resize(std::max(c->in.size(), c->in_len + read_chunk));
  c->sock.async_read_some(asio::buffer(c->in.data() + c->in_len, c->in.size() - c->in_len),
                          [this, c](const boost::system::error_code& ec, size_t n) {
                            if (c->closed) return;
                            on_read(c, ec, n);
                          });
}

void Tcp::on_read(const ConnPtr& c, const boost::system::error_code& ec, size_t n) {
  if (ec) {
    if (c->in_len > 0) ++malformed_;  // the stream ended inside a frame
    return close(c);
  }
  c->in_len += n;
  if (c->retiring) arm_retire_timer(c);  // the peer is still writing on it: not idle
  size_t pos = 0;
  while (c->in_len - pos >= 4) {
    const uint8_t* p = c->in.data() + pos;
    uint32_t len =
        uint32_t(p[0]) | uint32_t(p[1]) << 8 | uint32_t(p[2]) << 16 | uint32_t(p[3]) << 24;
    if (len == 0 || len > max_frame_size_) return fail(c);
    if (c->in_len - pos - 4 < len) {
      // Incomplete: make room for the whole frame (bounded by max_frame_size).
      if (c->in.size() < 4 + size_t(len)) c->in.resize(4 + size_t(len));
      break;
    }
    Buffer frame = Buffer::copy_of(std::span(p + 4, len));
    pos += 4 + len;
    handle_frame(c, frame);
    if (c->closed) return;
  }
  if (pos > 0) {
    std::memmove(c->in.data(), c->in.data() + pos, c->in_len - pos);
    c->in_len -= pos;
  }
  if (c->in.size() > 4 * read_chunk && c->in_len == 0) {
    c->in.resize(read_chunk);  // give back the room a large frame needed
    c->in.shrink_to_fit();
  }
  read_next(c);
}

void Tcp::handle_frame(const ConnPtr& c, const Buffer& frame) {
  std::string error;
  auto decoded = decode_frame(frame, error);
  if (!decoded) return fail(c);
  ++frames_received_;
  MessageBatch& batch = decoded->batch;
  if (!c->hello_received) {
    const TcpHeader* h =
        batch.size() == 1 ? batch.messages[0].header<TcpHeader>(protocol_id::tcp) : nullptr;
    if (!h || batch.src.is_null()) return fail(c);
    if (decoded->cluster != cluster_) {
      ++wrong_cluster_;
      return close(c);
    }
    std::string p = physical::canonical(h->physical);
    if (p.empty()) return fail(c);
    return handle_hello(c, batch.src, p);
  }
  if (batch.src != c->peer) return fail(c);
  if (decoded->cluster != cluster_) {
    ++wrong_cluster_;
    return close(c);
  }
  if (!batch.dest.is_null() && batch.dest != local_) {
    dropped_ += batch.size();
    return;
  }
  std::erase_if(batch.messages, [](const Message& m) { return m.has_header(protocol_id::tcp); });
  if (batch.empty()) return;
  deliver(batch);
}

void Tcp::handle_hello(const ConnPtr& c, const Address& peer, const std::string& physical) {
  c->hello_received = true;
  c->peer = peer;
  if (!c->retiring) c->timer.cancel();  // the hello timeout (a retiring one keeps its own)
  backoff_.erase(physical);
  if (!phys_.contains(peer) && peer != local_) phys_[peer] = physical;
  if (c->outgoing) return;  // registered under the address we dialled
  c->key = physical;
  auto it = conns_.find(physical);
  if (it == conns_.end()) {
    conns_[physical] = c;
    return;
  }
  ConnPtr other = it->second;
  // Two connections to the same peer: both ends decide alike which one survives.
  bool keep_incoming = tcp_resolution::incoming_wins(other->outgoing, physical, physical_);
  ++simultaneous_connects_;
  if (keep_incoming) {
    conns_[physical] = c;
    retire(other, c);
  } else {
    c->key.clear();
    retire(c, other);
  }
}

void Tcp::retire(const ConnPtr& loser, const ConnPtr& winner) {
  loser->retiring = true;
  auto moved = std::move(loser->pending);
  loser->pending.clear();
  loser->pending_bytes = 0;
  for (auto& m : moved)
    enqueue(winner, m);
  if (!loser->connected) return close(loser);  // still connecting: nothing was written on it
  arm_retire_timer(loser);
  // Make sure our hello went out (the peer may be waiting for it). The initiator then half-closes
  // after its last write; the acceptor only reads, and both close the socket on the peer's EOF.
  if (loser->writing) return;  // on_written half-closes
  if (!loser->hello_sent) return flush(loser);
  if (!tcp_resolution::half_closes_first(loser->outgoing)) return;
  boost::system::error_code ignored;
  loser->sock.shutdown(tcp::socket::shutdown_send, ignored);
}

void Tcp::arm_retire_timer(const ConnPtr& c) {
  // A safeguard against a peer that never ends the losing connection: close it once it has been
  // idle for sock_conn_timeout (not while the peer is still writing on it).
  c->timer.cancel();
  c->timer = runtime().schedule(sock_conn_timeout_, [this, c] { close(c); });
}

}  // namespace cohort
