#include "blocks/remote_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <future>
#include <map>
#include <mutex>

#include "blocks/service_registry.hpp"
#include "blocks/session_submitter.hpp"
#include "protocols/raft/client_errors.hpp"
#include "protocols/raft/client_wire.hpp"
#include "stack/asio_runtime.hpp"

namespace cohort {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using raft::ClientErrc;

struct RemoteClient::Impl : std::enable_shared_from_this<RemoteClient::Impl> {
  struct Pending {
    Buffer frame;  // length-prefixed request, resent after a reconnect
    std::function<void(std::error_code, const raft::wire::Response&)> done;
    TimerHandle deadline;
  };

  Impl(std::vector<std::string> m, std::string owner, SessionConfig config)
      : members(std::move(m)), rt(0, "cohort-client"), socket(rt.io_context()) {
    submitter = std::make_unique<SessionSubmitter>(
        std::move(owner), config, rt,
        [this](Buffer envelope, Duration timeout, SessionSubmitter::ResultHandler done) {
          raft::wire::Request r;
          r.kind = raft::wire::RequestKind::submit;
          r.timeout_ms = static_cast<uint64_t>(
              std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
          r.payload = std::move(envelope);
          request(std::move(r), timeout,
                  [done = std::move(done)](std::error_code ec, const raft::wire::Response& resp) {
                    done(ec, resp.payload);
                  });
        });
    submitter->on_session_opened = [this](uint64_t session) {
      subscribed_session = session;
      subscribe();
    };
  }

  std::vector<std::string> members;
  AsioRuntime rt;
  tcp::socket socket;
  size_t member = 0;
  enum class State { idle, connecting, connected } state = State::idle;
  std::string connected_member;
  mutable std::mutex mu;  // guards connected_member for other threads
  std::map<uint64_t, Pending> pending;
  uint64_t next_id = 1;
  std::deque<Buffer> out;
  bool writing = false;
  uint8_t len_buf[4];
  std::vector<uint8_t> body;
  std::unique_ptr<SessionSubmitter> submitter;
  std::map<std::string, std::vector<NotificationListener>> listeners;
  uint64_t subscribed_session = 0;
  bool stopping = false;

  void request(raft::wire::Request r, Duration timeout,
               std::function<void(std::error_code, const raft::wire::Response&)> done) {
    uint64_t id = next_id++;
    r.req_id = id;
    Buffer body = raft::wire::encode(r);
    codec::Writer w(4 + body.size());
    w.u32(static_cast<uint32_t>(body.size()));
    w.raw(body.span());
    Pending& p = pending[id];
    p.frame = w.take_buffer();
    p.done = std::move(done);
    // The member enforces the deadline; this one catches a member that went away silently.
    Duration limit = (timeout.count() > 0 ? timeout : Duration(std::chrono::seconds(10))) + 2s;
    p.deadline = rt.schedule(limit, [this, id] {
      auto it = pending.find(id);
      if (it == pending.end()) return;
      auto done = std::move(it->second.done);
      pending.erase(it);
      done(make_error_code(ClientErrc::timeout), {});
    });
    if (state == State::connected)
      write(p.frame);
    else
      connect();
  }

  void subscribe() {
    if (!subscribed_session || state != State::connected) return;
    raft::wire::Request r;
    r.kind = raft::wire::RequestKind::subscribe;
    codec::Writer w;
    w.varint(subscribed_session);
    r.payload = w.take_buffer();
    request(std::move(r), 5s, [](std::error_code, const raft::wire::Response&) {});
  }

  void connect() {
    if (state != State::idle || stopping) return;
    state = State::connecting;
    const std::string& target = members[member % members.size()];
    auto colon = target.rfind(':');
    boost::system::error_code ec;
    tcp::endpoint ep(asio::ip::make_address(target.substr(0, colon), ec),
                     static_cast<uint16_t>(std::atoi(target.c_str() + colon + 1)));
    if (ec || colon == std::string::npos) return fail_connection();
    auto self = shared_from_this();
    socket.async_connect(ep, [self, target](boost::system::error_code ec) {
      if (self->stopping) return;
      if (ec) return self->fail_connection();
      self->socket.set_option(tcp::no_delay(true), ec);
      self->state = State::connected;
      {
        std::lock_guard lock(self->mu);
        self->connected_member = target;
      }
      for (auto& [id, p] : self->pending)
        self->write(p.frame);  // resend what was in flight
      self->subscribe();
      self->read_header();
    });
  }

  void fail_connection() {
    boost::system::error_code ignored;
    socket.close(ignored);
    socket = tcp::socket(rt.io_context());
    out.clear();
    writing = false;
    state = State::idle;
    {
      std::lock_guard lock(mu);
      connected_member.clear();
    }
    ++member;  // try the next member
    if (stopping || pending.empty()) return;
    rt.schedule(100ms, [this] { connect(); });
  }

  void write(const Buffer& frame) {
    out.push_back(frame);
    if (!writing) write_next();
  }
  void write_next() {
    if (out.empty() || state != State::connected) return void(writing = false);
    writing = true;
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(out.front().data(), out.front().size()),
                      [self](boost::system::error_code ec, size_t) {
                        if (self->stopping) return;
                        if (ec) return self->fail_connection();
                        if (!self->out.empty()) self->out.pop_front();
                        self->write_next();
                      });
  }

  void read_header() {
    auto self = shared_from_this();
    asio::async_read(
        socket, asio::buffer(len_buf, 4), [self](boost::system::error_code ec, size_t) {
          if (self->stopping) return;
          if (ec) return self->fail_connection();
          uint32_t n = uint32_t(self->len_buf[0]) | uint32_t(self->len_buf[1]) << 8 |
                       uint32_t(self->len_buf[2]) << 16 | uint32_t(self->len_buf[3]) << 24;
          if (n == 0 || n > raft::wire::max_frame_bytes) return self->fail_connection();
          self->body.resize(n);
          asio::async_read(self->socket, asio::buffer(self->body),
                           [self](boost::system::error_code ec, size_t) {
                             if (self->stopping) return;
                             if (ec) return self->fail_connection();
                             self->dispatch(Buffer(std::move(self->body)));
                             self->body = {};
                             self->read_header();
                           });
        });
  }

  void dispatch(const Buffer& frame) {
    auto resp = raft::wire::decode_response(frame);
    if (!resp) return fail_connection();
    if (resp->kind == raft::wire::ResponseKind::notification) {
      Notification n{resp->req_id, resp->leader, resp->payload};
      if (n.service.empty()) return submitter->session_ended(n.session_id);
      auto it = listeners.find(n.service);
      if (it != listeners.end())
        for (auto& l : it->second)
          l(n);
      return;
    }
    auto it = pending.find(resp->req_id);
    if (it == pending.end()) return;
    Pending p = std::move(it->second);
    pending.erase(it);
    p.deadline.cancel();
    std::error_code ec;
    if (resp->error) ec = make_error_code(static_cast<ClientErrc>(resp->error));
    p.done(ec, *resp);
  }
};

RemoteClient::RemoteClient(std::vector<std::string> members, std::string owner,
                           SessionConfig config)
    : impl_(std::make_shared<Impl>(std::move(members), std::move(owner), config)) {}

RemoteClient::~RemoteClient() {
  std::promise<void> stopped;
  impl_->rt.post([this, &stopped] {
    impl_->stopping = true;
    boost::system::error_code ignored;
    impl_->socket.close(ignored);
    impl_->submitter.reset();
    stopped.set_value();
  });
  stopped.get_future().wait();
  impl_->rt.shutdown();
  // Run the aborted socket handlers (they hold the Impl) so that it can be freed.
  impl_->rt.io_context().restart();
  impl_->rt.io_context().poll();
}

void RemoteClient::submit(std::string service, Buffer command, ResultHandler done,
                          Duration timeout) {
  Buffer wrapped = ServiceRegistry::wrap(service, command);
  impl_->rt.post([impl = impl_, wrapped = std::move(wrapped), done = std::move(done), timeout] {
    if (impl->submitter) impl->submitter->submit(wrapped, done, timeout);
  });
}

void RemoteClient::read(std::string service, Buffer query, raft::ReadMode mode, ReadHandler done,
                        Duration timeout) {
  raft::wire::Request r;
  r.kind = raft::wire::RequestKind::read;
  r.mode = mode;
  r.timeout_ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  r.payload = ServiceRegistry::wrap(service, query);
  impl_->rt.post([impl = impl_, r = std::move(r), done = std::move(done), timeout]() mutable {
    impl->request(
        std::move(r), timeout, [done](std::error_code ec, const raft::wire::Response& resp) {
          done(ec,
               raft::ReadOutcome{resp.payload, resp.index, resp.commit_lag, resp.last_contact_ms});
        });
  });
}

void RemoteClient::on_notification(std::string service, NotificationListener l) {
  impl_->rt.post([impl = impl_, service = std::move(service), l = std::move(l)] {
    impl->listeners[service].push_back(l);
  });
}

void RemoteClient::status(std::function<void(std::error_code, raft::RaftStatus)> done,
                          Duration timeout) {
  raft::wire::Request r;
  r.kind = raft::wire::RequestKind::status;
  impl_->rt.post([impl = impl_, r = std::move(r), done = std::move(done), timeout]() mutable {
    impl->request(std::move(r), timeout,
                  [done](std::error_code ec, const raft::wire::Response& resp) {
                    if (ec) return done(ec, {});
                    auto st = raft::wire::decode_status(resp.payload);
                    if (!st) return done(make_error_code(ClientErrc::rejected), {});
                    done({}, *st);
                  });
  });
}

std::string RemoteClient::connected_to() const {
  std::lock_guard lock(impl_->mu);
  return impl_->connected_member;
}

}  // namespace cohort
