#include "protocols/udp.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <stdexcept>

#include "protocols/physical_address.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/frame.hpp"

namespace cohort {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

/// Datagrams read without blocking after one arrives, before waiting again (fairness bound).
constexpr int max_drain_per_turn = 64;
/// The receive buffer holds any UDP datagram.
constexpr size_t receive_buffer_bytes = 65536;

/// A cheap upper bound of a message's encoded size (bundle packing, queue accounting).
size_t approx_size(const Message& m) {
  return m.payload().size() + 16 + 32 * m.header_count();
}

}  // namespace

struct Udp::Impl {
  explicit Impl(asio::io_context& io) : ucast(io), mcast(io) {}
  udp::socket ucast;  // our physical address; sends everything
  udp::socket mcast;  // receives the group's datagrams
  udp::endpoint group;
  std::vector<uint8_t> ucast_buf = std::vector<uint8_t>(receive_buffer_bytes);
  std::vector<uint8_t> mcast_buf = std::vector<uint8_t>(receive_buffer_bytes);
  udp::endpoint ucast_sender, mcast_sender;
  std::unordered_map<std::string, udp::endpoint> endpoints;  // physical text → endpoint
  std::vector<Message> run;                                  // scratch for flush()
  size_t frame_overhead = 0;  // bytes of a frame's own fields (no messages), upper bound
};

Udp::Udp()
    : Transport("UDP"),
      datagrams_sent_(counter("datagrams_sent", "datagrams sent (each bundles 1+ messages)")),
      datagrams_received_(counter("datagrams_received", "datagrams received")),
      multicasts_sent_(counter("multicasts_sent", "datagrams sent to the multicast group")),
      bundled_msgs_(counter("bundled_msgs", "messages sent in a datagram with other messages")),
      send_errors_(counter("send_errors", "datagrams the kernel refused (messages dropped)")),
      send_queue_full_(
          counter("send_queue_full", "messages dropped: max_send_queue_bytes reached")),
      would_block_(counter("would_block", "sends deferred until the socket was writable")),
      too_big_count_(counter("too_big", "messages dropped: frame larger than a datagram")),
      wrong_cluster_(counter("wrong_cluster", "datagrams of another cluster, dropped")) {
  declare("bind_addr", bind_addr_,
          "the IPv4 address to bind to, advertise, and send/join multicasts on");
  declare("bind_port", bind_port_, "the first unicast port to try (0: a port from the kernel)");
  declare("port_range", port_range_, "also try the next port_range ports if bind_port is taken");
  declare("mcast_addr", mcast_addr_, "the IPv4 multicast group of the cluster");
  declare("mcast_port", mcast_port_, "the port of the multicast group");
  declare("ip_ttl", ip_ttl_, "time-to-live of multicast datagrams (hops)");
  declare_size("max_bundle_size", max_bundle_size_,
               "bytes of messages bundled into one datagram (below 64KB)");
  declare_size("max_send_queue_bytes", max_send_queue_bytes_,
               "bytes queued while the socket is not writable before messages are dropped");
  declare_size("ucast_recv_buf_size", ucast_recv_buf_size_,
               "SO_RCVBUF of the unicast socket (the kernel may cap it)");
  declare_size("ucast_send_buf_size", ucast_send_buf_size_, "SO_SNDBUF of the unicast socket");
  declare_size("mcast_recv_buf_size", mcast_recv_buf_size_,
               "SO_RCVBUF of the multicast socket (the kernel may cap it)");
  declare_size("mcast_send_buf_size", mcast_send_buf_size_, "SO_SNDBUF of the multicast socket");
}

Udp::~Udp() {
  destroy();
}

std::string Udp::multicast_address() const {
  return fmt::format("{}:{}", mcast_addr_, mcast_port_);
}

void Udp::init() {
  if (port_range_ < 0 || port_range_ > 1000)
    throw std::invalid_argument("port_range: must be between 0 and 1000");
  if (bind_port_ < 0 || bind_port_ + port_range_ > 65535)
    throw std::invalid_argument("bind_port: must be between 0 and 65535 (with port_range)");
  auto ip = physical::parse_ip(bind_addr_);
  if (!ip || !ip->is_v4())
    throw std::invalid_argument(fmt::format("bind_addr: '{}' is not an IPv4 address", bind_addr_));
  if (ip->is_unspecified())
    throw std::invalid_argument("bind_addr: must be a concrete address (peers send to it)");
  auto group = physical::parse_ip(mcast_addr_);
  if (!group || !group->is_v4() || !group->is_multicast())
    throw std::invalid_argument(
        fmt::format("mcast_addr: '{}' is not an IPv4 multicast address", mcast_addr_));
  if (mcast_port_ <= 0 || mcast_port_ > 65535)
    throw std::invalid_argument("mcast_port: must be between 1 and 65535");
  if (ip_ttl_ < 0 || ip_ttl_ > 255) throw std::invalid_argument("ip_ttl: must be 0..255");
  if (max_bundle_size_ < 1024 || max_bundle_size_ > max_datagram_size)
    throw std::invalid_argument(
        fmt::format("max_bundle_size: must be between 1KB and {} bytes", max_datagram_size));
  if (max_send_queue_bytes_ < max_bundle_size_)
    throw std::invalid_argument("max_send_queue_bytes: must be at least max_bundle_size");
  std::pair<const char*, uint64_t> buffers[] = {{"ucast_recv_buf_size", ucast_recv_buf_size_},
                                                {"ucast_send_buf_size", ucast_send_buf_size_},
                                                {"mcast_recv_buf_size", mcast_recv_buf_size_},
                                                {"mcast_send_buf_size", mcast_send_buf_size_}};
  for (auto& [name, size] : buffers)
    if (size > (1u << 30))
      throw std::invalid_argument(fmt::format("{}: must be at most 1GB", name));

  // Only a real loop opens sockets; NullRuntime (cohort check) and the simulator validate only.
  auto* rt = dynamic_cast<AsioRuntime*>(&runtime());
  if (!rt) return;
  impl_ = std::make_unique<Impl>(rt->io_context());
  auto bind_v4 = ip->to_v4();
  auto group_v4 = group->to_v4();
  impl_->group = udp::endpoint(group_v4, static_cast<uint16_t>(mcast_port_));
  auto set_buffers = [](udp::socket& s, uint64_t recv, uint64_t send) {
    // The kernel caps these at net.core.{r,w}mem_max; a smaller buffer is not an error.
    boost::system::error_code ignored;
    if (recv) s.set_option(asio::socket_base::receive_buffer_size(int(recv)), ignored);
    if (send) s.set_option(asio::socket_base::send_buffer_size(int(send)), ignored);
  };

  // The unicast socket: the first free port of the range.
  boost::system::error_code ec;
  int last = bind_port_ == 0 ? 0 : bind_port_ + port_range_;
  for (int port = bind_port_; port <= last; ++port) {
    auto& s = impl_->ucast;
    boost::system::error_code ignored;
    if (s.is_open()) s.close(ignored);
    udp::endpoint ep(bind_v4, static_cast<uint16_t>(port));
    s.open(udp::v4(), ec);
    if (!ec) s.bind(ep, ec);
    if (!ec) {
      physical_ = physical::format(s.local_endpoint());
      break;
    }
  }
  if (ec) {
    impl_->ucast.close(ec);
    throw std::invalid_argument(
        fmt::format("bind_port: cannot bind UDP {} port {}{}: {}", bind_addr_, bind_port_,
                    last > bind_port_ ? fmt::format("..{}", last) : std::string(), ec.message()));
  }
  auto& u = impl_->ucast;
  set_buffers(u, ucast_recv_buf_size_, ucast_send_buf_size_);
  u.set_option(asio::ip::multicast::outbound_interface(bind_v4), ec);
  if (!ec) u.set_option(asio::ip::multicast::hops(ip_ttl_), ec);
  if (!ec) u.set_option(asio::ip::multicast::enable_loopback(true), ec);
  if (!ec) u.non_blocking(true, ec);
  if (ec)
    throw std::invalid_argument(
        fmt::format("bind_addr: cannot send multicasts from {}: {}", bind_addr_, ec.message()));

  // The multicast socket: bound to the group address (on Linux this filters out datagrams of
  // other groups on the same port), shared with other members on this host.
  auto& m = impl_->mcast;
  m.open(udp::v4(), ec);
  if (!ec) m.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) m.bind(impl_->group, ec);
  if (ec)
    throw std::invalid_argument(
        fmt::format("mcast_port: cannot bind {}:{}: {}", mcast_addr_, mcast_port_, ec.message()));
  set_buffers(m, mcast_recv_buf_size_, mcast_send_buf_size_);
  m.set_option(asio::ip::multicast::join_group(group_v4, bind_v4), ec);
  if (!ec) m.non_blocking(true, ec);
  if (ec)
    throw std::invalid_argument(
        fmt::format("mcast_addr: cannot join {} on {}: {}", mcast_addr_, bind_addr_, ec.message()));
}

void Udp::start() {
  if (!impl_) throw std::logic_error("UDP needs an AsioRuntime");
  running_ = true;
  receive_next(false);
  receive_next(true);
}

void Udp::stop() {
  running_ = false;
  if (impl_) {
    boost::system::error_code ignored;
    impl_->ucast.cancel(ignored);
    impl_->mcast.cancel(ignored);
  }
  dropped_ += pending_.size();
  pending_.clear();
  pending_bytes_ = 0;
}

void Udp::destroy() {
  stop();
  if (impl_) {
    boost::system::error_code ignored;
    impl_->ucast.close(ignored);
    impl_->mcast.close(ignored);
  }
  phys_.clear();
}

void Udp::connect() {
  if (!impl_) return;
  // The frame's own fields: magic, version, flags, cluster, src and (at most) one dest address.
  codec::Writer w;
  encode_frame(w, cluster_, local_, local_, {});
  impl_->frame_overhead = w.size() + 8;  // + the message count varint, with room to spare
}

void Udp::disconnect() {
  // Discovery's leave messages may still be queued: send them before the sockets stop.
  if (running_) flush();
}

std::any Udp::down(Event& ev) {
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
      if (canonical.empty() || canonical == physical_) return {};
      Message msg = m;
      msg.src(local_).dest(Address());
      ++msgs_sent_;
      bytes_sent_ += msg.payload().size();
      enqueue(std::move(canonical), msg);
      return {};
    }
    default:
      return Transport::down(ev);
  }
}

void Udp::deliver_local(const Message& msg) {
  runtime().post([this, m = msg]() mutable {
    if (running_) deliver(m);
  });
}

void Udp::send_to_group(Message& msg) {
  if (!running_) return void(++dropped_);
  enqueue(std::string(), msg);
  deliver_local(msg);
}

void Udp::send_to_member(Message& msg) {
  if (!running_) return void(++dropped_);
  if (msg.dest() == local_) return deliver_local(msg);
  auto it = phys_.find(msg.dest());
  if (it == phys_.end()) return void(++dropped_);
  enqueue(it->second, msg);
}

// --- Sending ------------------------------------------------------------------------------------

void Udp::enqueue(std::string target, const Message& msg) {
  if (!running_) return void(++dropped_);
  size_t size = approx_size(msg);
  // Nothing queued and no flush pending: send now (a lone message is never held back). The flush
  // posted afterwards marks the end of this loop turn: messages sent before it runs are bundled.
  if (pending_.empty() && !flush_posted_ && !waiting_writable_) {
    if (send_datagram(target, std::span(&msg, 1))) return post_flush();
  }
  if (pending_bytes_ + size > max_send_queue_bytes_) {
    ++send_queue_full_;
    ++dropped_;
    return;
  }
  pending_.push_back({std::move(target), msg, size});
  pending_bytes_ += size;
  if (!waiting_writable_) post_flush();
}

void Udp::post_flush() {
  if (flush_posted_) return;
  flush_posted_ = true;
  runtime().post([this] {
    flush_posted_ = false;
    if (running_ && !waiting_writable_) flush();
  });
}

void Udp::flush() {
  auto& run = impl_->run;
  size_t budget_limit =
      max_bundle_size_ - std::min<size_t>(max_bundle_size_ / 2, impl_->frame_overhead);
  while (!pending_.empty()) {
    const Pending& first = pending_.front();
    // A run: consecutive messages to the same target and dest, up to max_bundle_size bytes.
    size_t n = 1, budget = first.size;
    if (!first.msg.has(Message::DONT_BUNDLE)) {
      while (n < pending_.size()) {
        const Pending& p = pending_[n];
        if (p.target != first.target || p.msg.dest() != first.msg.dest() ||
            p.msg.has(Message::DONT_BUNDLE) || budget + p.size > budget_limit)
          break;
        budget += p.size;
        ++n;
      }
    }
    run.clear();
    for (size_t i = 0; i < n; ++i)
      run.push_back(pending_[i].msg);
    if (!send_datagram(first.target, run)) {
      run.clear();
      return wait_writable();
    }
    run.clear();
    for (size_t i = 0; i < n; ++i) {
      pending_bytes_ -= pending_.front().size;
      pending_.pop_front();
    }
  }
}

bool Udp::send_datagram(const std::string& target, std::span<const Message> msgs) {
  const udp::endpoint* ep = &impl_->group;
  if (!target.empty()) {
    auto it = impl_->endpoints.find(target);
    if (it == impl_->endpoints.end()) {
      auto parsed = physical::parse<udp::endpoint>(target);
      if (!parsed) return dropped_ += msgs.size(), true;
      if (impl_->endpoints.size() > 4096) impl_->endpoints.clear();  // bounded cache
      it = impl_->endpoints.emplace(target, *parsed).first;
    }
    ep = &it->second;
  }
  codec::Writer w(impl_->frame_overhead + msgs.size() * 32 + msgs.front().payload().size());
  encode_frame(w, cluster_, local_, msgs.front().dest(), msgs);
  if (w.size() > max_datagram_size) {
    if (msgs.size() == 1) {
      too_big(msgs.front(), w.size());
      return true;
    }
    // The size estimate was off (large headers): send the run in two halves.
    // A half the kernel refuses (EAGAIN) is dropped: requeueing part of a run is not worth it.
    size_t half = msgs.size() / 2;
    if (!send_datagram(target, msgs.first(half))) dropped_ += half;
    if (!send_datagram(target, msgs.subspan(half))) dropped_ += msgs.size() - half;
    return true;
  }
  boost::system::error_code ec;
  impl_->ucast.send_to(asio::buffer(w.data()), *ep, 0, ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ++would_block_;
    return false;
  }
  if (ec) {
    ++send_errors_;
    dropped_ += msgs.size();
    if (send_errors_ == 1 || send_errors_ % 1000 == 0)
      spdlog::warn("UDP {}: sending to {} failed: {} ({} send errors so far)", physical_,
                   target.empty() ? multicast_address() : target, ec.message(), send_errors_);
    return true;
  }
  ++datagrams_sent_;
  if (target.empty()) ++multicasts_sent_;
  if (msgs.size() > 1) bundled_msgs_ += msgs.size();
  return true;
}

void Udp::too_big(const Message& msg, size_t frame_size) {
  ++too_big_count_;
  ++dropped_;
  if (too_big_logged_++ < 10 || too_big_count_ % 1000 == 0)
    spdlog::warn(
        "UDP {}: dropped a message of {} bytes to {}: its frame ({} bytes) exceeds the largest "
        "datagram ({} bytes); put FRAG with a smaller frag_size above UDP ({} dropped so far)",
        physical_, msg.payload().size(), msg.is_group() ? "the group" : msg.dest().to_string(),
        frame_size, max_datagram_size, too_big_count_);
}

void Udp::wait_writable() {
  waiting_writable_ = true;
  impl_->ucast.async_wait(udp::socket::wait_write, [this](const boost::system::error_code& ec) {
    waiting_writable_ = false;
    if (ec || !running_) return;
    flush();
  });
}

// --- Receiving ----------------------------------------------------------------------------------

void Udp::receive_next(bool multicast) {
  udp::socket& s = multicast ? impl_->mcast : impl_->ucast;
  auto& buf = multicast ? impl_->mcast_buf : impl_->ucast_buf;
  auto& sender = multicast ? impl_->mcast_sender : impl_->ucast_sender;
  s.async_receive_from(
      asio::buffer(buf), sender,
      [this, multicast, &s, &buf, &sender](const boost::system::error_code& ec, size_t n) {
        if (!running_ || ec == asio::error::operation_aborted) return;
        if (!ec) handle_datagram(buf.data(), n, multicast);
        // Drain what else has arrived without going back to the reactor each time.
        for (int i = 0; i < max_drain_per_turn && running_; ++i) {
          boost::system::error_code rec;
          size_t m = s.receive_from(asio::buffer(buf), sender, 0, rec);
          if (rec) break;
          handle_datagram(buf.data(), m, multicast);
        }
        if (running_) receive_next(multicast);
      });
}

void Udp::handle_datagram(const uint8_t* data, size_t n, bool multicast) {
  const udp::endpoint& sender = multicast ? impl_->mcast_sender : impl_->ucast_sender;
  ++datagrams_received_;
  Buffer frame = Buffer::copy_of(std::span(data, n));
  std::string error;
  auto decoded = decode_frame(frame, error);
  if (!decoded) {
    ++malformed_;
    spdlog::debug("UDP {}: malformed datagram of {} bytes from {}: {}", physical_, n,
                  physical::format(sender), error);
    return;
  }
  MessageBatch& batch = decoded->batch;
  if (decoded->cluster != cluster_ || cluster_.empty()) return void(++wrong_cluster_);
  if (batch.src.is_null()) return void(++malformed_);
  if (batch.src == local_) return;  // our own multicast, looped back (delivered locally already)
  if (!batch.dest.is_null() && batch.dest != local_) {
    dropped_ += batch.size();
    return;
  }
  // Every datagram is sent from the sender's unicast socket: that is where it can be reached.
  if (!phys_.contains(batch.src)) phys_[batch.src] = physical::format(sender);
  deliver(batch);
}

}  // namespace cohort
