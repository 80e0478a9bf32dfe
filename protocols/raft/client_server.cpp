#include "protocols/raft/client_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <set>

namespace cohort::raft {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Connection : std::enable_shared_from_this<Connection> {
  Connection(tcp::socket s, uint64_t i) : socket(std::move(s)), id(i) {}
  tcp::socket socket;
  uint64_t id;
  uint8_t len_buf[4];
  std::vector<uint8_t> body;
  std::deque<Buffer> out;
  bool writing = false;
  bool closed = false;
  std::set<uint64_t> sessions;

  void send(const Buffer& frame_body) {
    if (closed) return;
    codec::Writer w(4 + frame_body.size());
    w.u32(static_cast<uint32_t>(frame_body.size()));
    w.raw(frame_body.span());
    out.push_back(w.take_buffer());
    if (!writing) write_next();
  }
  void write_next() {
    if (out.empty() || closed) return void(writing = false);
    writing = true;
    auto self = shared_from_this();
    asio::async_write(socket, asio::buffer(out.front().data(), out.front().size()),
                      [self](boost::system::error_code ec, size_t) {
                        if (ec) return self->close();
                        self->out.pop_front();
                        self->write_next();
                      });
  }
  void close() {
    if (closed) return;
    closed = true;
    boost::system::error_code ignored;
    socket.close(ignored);
  }
};

}  // namespace

struct ClientServer::Impl : std::enable_shared_from_this<ClientServer::Impl> {
  Impl(asio::io_context& io, RequestHandler h, uint64_t& m)
      : acceptor(io), handler(std::move(h)), malformed(m) {}
  tcp::acceptor acceptor;
  RequestHandler handler;
  uint64_t& malformed;
  std::set<std::shared_ptr<Connection>> connections;
  bool stopped = false;
  uint64_t next_id = 0;

  void accept() {
    auto self = shared_from_this();
    acceptor.async_accept([self](boost::system::error_code ec, tcp::socket s) {
      if (self->stopped) return;
      if (!ec) {
        s.set_option(tcp::no_delay(true), ec);
        auto c = std::make_shared<Connection>(std::move(s), ++self->next_id);
        self->connections.insert(c);
        self->read_header(c);
      }
      self->accept();
    });
  }
  void drop(const std::shared_ptr<Connection>& c) {
    c->close();
    connections.erase(c);
  }
  void read_header(const std::shared_ptr<Connection>& c) {
    auto self = shared_from_this();
    asio::async_read(c->socket, asio::buffer(c->len_buf, 4),
                     [self, c](boost::system::error_code ec, size_t) {
                       if (ec || self->stopped) return self->drop(c);
                       uint32_t n = uint32_t(c->len_buf[0]) | uint32_t(c->len_buf[1]) << 8 |
                                    uint32_t(c->len_buf[2]) << 16 | uint32_t(c->len_buf[3]) << 24;
                       if (n == 0 || n > wire::max_frame_bytes) {
                         ++self->malformed;
                         return self->drop(c);
                       }
                       c->body.resize(n);
                       self->read_body(c);
                     });
  }
  void read_body(const std::shared_ptr<Connection>& c) {
    auto self = shared_from_this();
    asio::async_read(c->socket, asio::buffer(c->body),
                     [self, c](boost::system::error_code ec, size_t) {
                       if (ec || self->stopped) return self->drop(c);
                       Buffer body(std::move(c->body));
                       c->body = {};
                       auto req = wire::decode_request(body);
                       if (!req) {
                         ++self->malformed;
                         return self->drop(c);
                       }
                       std::weak_ptr<Connection> weak = c;
                       self->handler(
                           std::move(*req),
                           [weak](wire::Response r) {
                             if (auto conn = weak.lock()) conn->send(wire::encode(r));
                           },
                           c->id);
                       self->read_header(c);
                     });
  }
};

ClientServer::ClientServer(asio::io_context& io, const std::string& addr, uint16_t port,
                           RequestHandler handler, uint64_t& malformed)
    : impl_(std::make_shared<Impl>(io, std::move(handler), malformed)) {
  tcp::endpoint ep(asio::ip::make_address(addr), port);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->accept();
}

ClientServer::~ClientServer() {
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->acceptor.close(ignored);
  for (auto& c : impl_->connections)
    c->close();
  impl_->connections.clear();
}

uint16_t ClientServer::port() const {
  return impl_->acceptor.local_endpoint().port();
}

void ClientServer::notify(uint64_t session_id, const std::string& service, const Buffer& payload) {
  for (auto& c : impl_->connections)
    if (c->sessions.count(session_id)) {
      wire::Response r;
      r.kind = wire::ResponseKind::notification;
      r.req_id = session_id;
      r.leader = service;
      r.payload = payload;
      c->send(wire::encode(r));
    }
}

void ClientServer::subscribe(uint64_t connection, uint64_t session_id) {
  for (auto& c : impl_->connections)
    if (c->id == connection) c->sessions.insert(session_id);
}

}  // namespace cohort::raft
