#include "gateway/http_gateway.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <map>
#include <optional>
#include <stdexcept>
#include <thread>
#include <vector>

#include "gateway/etcd_json.hpp"
#include "gateway/etcd_request.hpp"
#include "gateway/task_batch.hpp"
#include "stack/asio_runtime.hpp"

namespace cohort::gateway {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

void parse_listen_address(const std::string& s, GatewayOptions& o) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size())
    throw std::invalid_argument("--http wants HOST:PORT, got '" + s + "'");
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(s.substr(colon + 1), &used);
    if (used != s.size() - colon - 1) throw std::invalid_argument("trailing characters");
  } catch (const std::exception&) {
    throw std::invalid_argument("--http: bad port in '" + s + "'");
  }
  if (port > 65535) throw std::invalid_argument("--http: port out of range in '" + s + "'");
  o.host = s.substr(0, colon);
  o.port = static_cast<uint16_t>(port);
}

raft::ReadMode parse_read_mode(const std::string& s) {
  if (s == "linearizable") return raft::ReadMode::linearizable;
  if (s == "lease") return raft::ReadMode::lease;
  if (s == "stale") return raft::ReadMode::stale;
  throw std::invalid_argument("read mode must be linearizable, lease or stale, got '" + s + "'");
}

namespace {

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

// A stable member id from its raft id (FNV-1a), shown in hex like etcd's member ids.
std::string member_id(std::string_view name) {
  uint64_t h = 1469598103934665603ull;
  for (char c : name) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return fmt::format("{:x}", h);
}

std::string_view reason(unsigned status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 400:
      return "Bad Request";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Payload Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return "Unknown";
  }
}

constexpr size_t max_body_bytes = 4 * 1024 * 1024;

// Each gateway publishes its URL here (a hidden key: not listed under /), so every member can
// answer /v2/members with all client URLs, as etcdctl's endpoint sync and cluster-health want.
constexpr std::string_view members_dir = "/_cohort/members";

}  // namespace

class Session;

// The io_context the server runs on: the channel's loop (not owned: the channel outlives the
// gateway's use of it) or a new one for the server's own threads.
std::shared_ptr<asio::io_context> server_context(RaftHandle& raft, unsigned threads) {
  if (threads > 0) return std::make_shared<asio::io_context>();
  auto* rt = dynamic_cast<AsioRuntime*>(&raft.channel().runtime());
  if (!rt) throw std::invalid_argument("http gateway: threads=0 needs a channel on an AsioRuntime");
  return std::shared_ptr<asio::io_context>(std::shared_ptr<void>(), &rt->io_context());
}

struct HttpGateway::Impl {
  Impl(RaftHandle& r, V2Store& s, GatewayOptions opts)
      : raft(r),
        store(s),
        o(std::move(opts)),
        ioc(server_context(r, o.threads)),
        acceptor(*ioc),
        sync_timer(*ioc),
        to_loop([this](std::function<void()> f) { loop().post(std::move(f)); },
                [this] { start_writes(); }),
        to_http([this](std::function<void()> f) { asio::post(*ioc, std::move(f)); }) {}

  void accept();
  void schedule_sync();
  void publish_url();
  Runtime& loop() { return raft.channel().runtime(); }

  RaftHandle& raft;
  V2Store& store;
  GatewayOptions o;
  // Shared with the sessions: a completion still queued on the channel's loop may hold a
  // session (and so its socket) after the gateway is gone.
  std::shared_ptr<asio::io_context> ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor;
  asio::steady_timer sync_timer;
  std::vector<std::thread> threads;
  std::string self_url;
  std::string cluster_id = member_id("cohort");
  std::atomic<bool> stopped{false};
  bool started = false;     // start() got as far as serving
  bool publishing = false;  // loop thread only
  // Writes queue here and go out as batches after each drain of to_loop (and as batches
  // complete). Batches share the RaftHandle's client session, whose unacknowledged results are
  // bounded (SessionConfig::max_results_per_session): beyond max_batches_in_flight, writes wait
  // instead of failing with session_cache_full. Loop thread only.
  using WriteDone = std::function<void(std::error_code, Buffer, uint64_t log_index)>;
  void submit_write(Buffer command, WriteDone done);
  void start_writes();
  void submit_batch(size_t n);
  size_t batches_in_flight = 0;
  std::deque<std::pair<Buffer, WriteDone>> write_backlog;
  bool starting_writes = false;
  // Requests to the loop and completions back, one wake-up per batch each way.
  TaskBatch to_loop;
  TaskBatch to_http;
};

/// One HTTP connection: reads a request, answers it (possibly after Raft), and reads the next.
/// Every member function runs on the connection's strand.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpGateway::Impl& gw, tcp::socket socket)
      : gw_(gw), ioc_(gw.ioc), socket_(std::move(socket)) {}

  void start() { read(); }

 private:
  struct Reply {
    explicit Reply(unsigned s = 200, std::string_view type = "application/json",
                   std::string_view extra = {})
        : status(s), content_type(type), extra_header(extra) {}
    unsigned status;
    std::string_view content_type;
    std::string_view extra_header;
    std::optional<uint64_t> etcd_index, raft_index, raft_term;
  };

  void read() {
    parser_.emplace();
    parser_->body_limit(max_body_bytes);
    http::async_read(
        socket_, buf_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (ec) {
      if (ec == http::error::body_limit) {
        keep_alive_ = false;
        body_ = "request body too large\n";
        return write(Reply(413, "text/plain"));
      }
      return close();
    }
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    head_ = req.method() == http::verb::head;
    route(req);
  }

  void route(const http::request<http::string_body>& req) {
    std::string_view target(req.target().data(), req.target().size());
    std::string_view path = target.substr(0, target.find('?'));
    body_.clear();
    if (path == keys_prefix || path.starts_with("/v2/keys/")) return keys(req, target);
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      body_ = "Method Not Allowed\n";
      return write(Reply(405, "text/plain", "Allow: GET, HEAD\r\n"));
    }
    if (path == "/version") {
      body_ = R"({"etcdserver":"3.4.23","etcdcluster":"3.4.0"})";
      return write(Reply());
    }
    if (path == "/health") {
      bool ok = !gw_.raft.leader().empty();
      body_ = ok ? R"({"health":"true"})" : R"({"health":"false"})";
      return write(Reply(ok ? 200u : 503u));
    }
    if (path == "/v2/machines") {
      body_ = gw_.self_url;
      return write(Reply(200, "text/plain"));
    }
    if (path == "/v2/members" || path == "/v2/members/leader" || path == "/v2/stats/self" ||
        path == "/v2/stats/leader")
      return status_page(std::string(path));
    body_ = "404 page not found\n";
    write(Reply(404, "text/plain"));
  }

  using Urls = std::map<std::string, std::string, std::less<>>;

  // /v2/members and /v2/stats/*: from the Raft status and the published URLs, on the loop.
  void status_page(std::string path) {
    gw_.raft.status([self = shared_from_this(), path](raft::RaftStatus st) {
      Urls urls;
      auto listed = self->gw_.store.get(members_dir, false, false);
      if (auto* e = std::get_if<v2::Event>(&listed))
        for (auto& n : e->node.nodes)
          if (n.value) urls[n.key.substr(members_dir.size() + 1)] = *n.value;
      asio::post(self->socket_.get_executor(),
                 [self, path, st = std::move(st), urls = std::move(urls)] {
                   self->render_status(path, st, urls);
                 });
    });
  }

  void append_member(std::string& b, const std::string& name, const raft::RaftStatus& st,
                     const Urls& urls) {
    fmt::format_to(std::back_inserter(b), "{{\"id\":\"{}\",\"name\":", member_id(name));
    append_json_string(b, name);
    b += ",\"peerURLs\":[],\"clientURLs\":[";
    auto it = urls.find(name);
    if (name == st.raft_id)
      append_json_string(b, gw_.self_url);
    else if (it != urls.end())
      append_json_string(b, it->second);
    b += "]}";
  }

  void render_status(const std::string& path, const raft::RaftStatus& st, const Urls& urls) {
    std::string& b = body_;
    if (path == "/v2/members") {
      b = "{\"members\":[";
      for (size_t i = 0; i < st.voters.size(); ++i) {
        if (i) b += ',';
        append_member(b, st.voters[i], st, urls);
      }
      b += "]}\n";
      return write(Reply());
    }
    if (path == "/v2/members/leader") {
      if (st.leader.empty()) {
        b = "{\"message\":\"During election\"}\n";
        return write(Reply(503));
      }
      append_member(b, st.leader, st, urls);
      b += '\n';
      return write(Reply());
    }
    if (path == "/v2/stats/leader" && st.role != raft::Role::leader) {
      b = "{\"message\":\"not current leader\"}\n";
      return write(Reply(403));
    }
    const bool leader = st.role == raft::Role::leader;
    fmt::format_to(std::back_inserter(b), "{{\"name\":");
    append_json_string(b, st.raft_id);
    fmt::format_to(std::back_inserter(b),
                   ",\"id\":\"{}\",\"state\":\"{}\",\"leaderInfo\":{{\"leader\":\"{}\"}},"
                   "\"raftTerm\":{},\"raftIndex\":{},\"raftAppliedIndex\":{}}}\n",
                   member_id(st.raft_id), leader ? "StateLeader" : "StateFollower",
                   st.leader.empty() ? "" : member_id(st.leader), st.term, st.commit_index,
                   st.applied_index);
    write(Reply());
  }

  void keys(const http::request<http::string_body>& req, std::string_view target) {
    auto m = req.method();
    if (m != http::verb::get && m != http::verb::head && m != http::verb::put &&
        m != http::verb::post && m != http::verb::delete_) {
      body_ = "Method Not Allowed\n";
      return write(Reply(405, "text/plain", "Allow: GET, HEAD, PUT, POST, DELETE\r\n"));
    }
    auto verb = http::to_string(m);
    std::string_view method(verb.data(), verb.size());
    auto parsed = parse_key_request(method, target, req.body());
    if (auto* err = std::get_if<v2::Error>(&parsed)) return answer(v2::Reply(*err), {}, false);
    KeyRequest& kr = std::get<KeyRequest>(parsed);
    if (kr.wait) return watch(std::move(kr));
    auto self = shared_from_this();
    const bool no_value = kr.no_value_on_success;
    Buffer command = v2::encode(kr.command);
    if (kr.command.op == v2::Op::get) {
      raft::ReadMode mode = kr.quorum ? raft::ReadMode::linearizable : gw_.o.read_mode;
      gw_.to_loop.push([self, command = std::move(command), mode] {
        auto& gw = self->gw_;
        gw.raft.read_on_loop(
            gw.o.service, command, mode,
            [self](std::error_code ec, raft::ReadOutcome out) {
              self->complete(ec, std::move(out.result), out.applied_index, false);
            },
            gw.o.request_timeout);
      });
      return;
    }
    gw_.to_loop.push([self, command = std::move(command), no_value]() mutable {
      self->gw_.submit_write(std::move(command),
                             [self, no_value](std::error_code ec, Buffer result, uint64_t index) {
                               self->complete(ec, std::move(result), index, no_value);
                             });
    });
  }

  // On the loop: a Raft answer goes back to the connection's strand with the next batch.
  void complete(std::error_code ec, Buffer result, uint64_t raft_index, bool no_value) {
    gw_.to_http.push([self = shared_from_this(), ec, result = std::move(result), raft_index,
                      no_value]() mutable {
      auto& strand = self->socket_;
      asio::dispatch(strand.get_executor(),
                     [self = std::move(self), ec, result = std::move(result), raft_index,
                      no_value] { self->finish(ec, result, raft_index, no_value); });
    });
  }

  void finish(std::error_code ec, const Buffer& result, uint64_t raft_index, bool no_value) {
    if (ec) {
      v2::Errc code =
          ec == raft::ClientErrc::no_leader ? v2::Errc::leader_elect : v2::Errc::raft_internal;
      return answer(v2::Error{code, ec.message(), 0}, {}, false);
    }
    auto reply = v2::decode_result(result);
    if (!reply)
      return answer(v2::Error{v2::Errc::raft_internal, "malformed store result", 0}, {}, false);
    answer(*reply, raft_index, no_value);
  }

  /// Writes an event or an error as etcd does (status, X-Etcd-Index, X-Raft-*, JSON).
  void answer(const v2::Reply& reply, uint64_t raft_index, bool no_value) {
    body_.clear();
    if (const auto* e = std::get_if<v2::Event>(&reply)) {
      const bool created =
          e->action == v2::Action::create || (e->action == v2::Action::set && !e->prev_node);
      const bool is_write = e->action != v2::Action::get;
      append_event(body_, *e, wall_ms(),
                   no_value && is_write && e->action != v2::Action::remove &&
                       e->action != v2::Action::compare_and_delete);
      Reply r{created ? 201u : 200u};
      r.etcd_index = e->etcd_index;
      r.raft_index = raft_index ? raft_index : e->node.modified_index;
      r.raft_term = gw_.raft.term();
      return write(r);
    }
    const auto& err = std::get<v2::Error>(reply);
    append_error(body_, err);
    Reply r{v2::http_status(err.code)};
    r.etcd_index = err.index;
    write(r);
  }

  // ---- wait=true ------------------------------------------------------------------------

  void watch(KeyRequest kr) {
    auto self = shared_from_this();
    const bool recursive = kr.command.has(v2::flag::recursive);
    gw_.loop().post([self, path = std::move(kr.command.path), recursive, since = kr.wait_index] {
      uint64_t id = 0;
      auto now = self->gw_.store.watch(
          path, recursive, since,
          [self](const v2::Event& e) {  // on the loop, inside apply()
            asio::post(self->socket_.get_executor(), [self, e] { self->watch_fired(e); });
          },
          &id);
      asio::post(self->socket_.get_executor(), [self, id, now = std::move(now)] {
        if (now) return self->answer(*now, 0, false);
        self->watching(id);
      });
    });
  }

  void watching(uint64_t id) {
    watch_id_ = id;
    // A long poll ends when the watch fires or the client goes away: notice the latter.
    socket_.async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (!self->watch_id_) return;                      // answered meanwhile
      if (!ec && self->socket_.available() > 0) return;  // a pipelined request: keep waiting
      self->cancel_watch();
      self->close();
    });
  }

  void watch_fired(const v2::Event& e) {
    if (!watch_id_ || closed_) return;
    watch_id_ = 0;
    answer(e, 0, false);
  }

  void cancel_watch() {
    if (!watch_id_) return;
    uint64_t id = watch_id_;
    watch_id_ = 0;
    gw_.loop().post([self = shared_from_this(), id] { self->gw_.store.cancel_watch(id); });
  }

  // ---- output ---------------------------------------------------------------------------

  void write(const Reply& r) {
    out_.clear();
    fmt::format_to(std::back_inserter(out_),
                   "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nX-Etcd-Cluster-Id: {}\r\n", r.status,
                   reason(r.status), r.content_type, gw_.cluster_id);
    if (r.etcd_index)
      fmt::format_to(std::back_inserter(out_), "X-Etcd-Index: {}\r\n", *r.etcd_index);
    if (r.raft_index)
      fmt::format_to(std::back_inserter(out_), "X-Raft-Index: {}\r\n", *r.raft_index);
    if (r.raft_term) fmt::format_to(std::back_inserter(out_), "X-Raft-Term: {}\r\n", *r.raft_term);
    out_ += r.extra_header;
    if (!keep_alive_) out_ += "Connection: close\r\n";
    fmt::format_to(std::back_inserter(out_), "Content-Length: {}\r\n\r\n", body_.size());
    if (!head_) out_ += body_;
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](beast::error_code ec, size_t) {
                        if (ec || !self->keep_alive_) return self->close();
                        self->read();
                      });
  }

  void close() {
    if (closed_) return;
    closed_ = true;
    cancel_watch();
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

  HttpGateway::Impl& gw_;
  std::shared_ptr<asio::io_context> ioc_;  // outlives socket_
  tcp::socket socket_;
  beast::flat_buffer buf_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::string body_;
  std::string out_;
  bool keep_alive_ = true;
  bool head_ = false;
  bool closed_ = false;
  uint64_t watch_id_ = 0;
};

void HttpGateway::Impl::accept() {
  acceptor.async_accept(asio::make_strand(*ioc), [this](beast::error_code ec, tcp::socket s) {
    if (stopped) return;
    if (ec) {
      spdlog::warn("http gateway: accept failed: {}", ec.message());
    } else {
      beast::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(*this, std::move(s))->start();
    }
    accept();
  });
}

void HttpGateway::Impl::schedule_sync() {
  sync_timer.expires_after(o.sync_interval);
  sync_timer.async_wait([this](beast::error_code ec) {
    if (ec || stopped) return;
    // On the loop: the store is read there, and the sync goes out only from the leader.
    loop().post([this] {
      publish_url();
      if (!store.has_ttl_keys() || !raft.is_leader()) return;
      v2::Command c;
      c.op = v2::Op::sync;
      raft.submit(
          o.service, v2::encode(c), [](std::error_code, Buffer) {}, o.sync_interval * 4);
    });
    schedule_sync();
  });
}

void HttpGateway::Impl::submit_write(Buffer command, WriteDone done) {
  write_backlog.emplace_back(std::move(command), std::move(done));  // out after the drain
}

void HttpGateway::Impl::start_writes() {
  if (starting_writes) return;  // a completion re-entered from submit_on_loop: the loop below
  starting_writes = true;
  while (!write_backlog.empty() && batches_in_flight < o.max_batches_in_flight)
    submit_batch(std::min(write_backlog.size(), std::max<size_t>(1, o.max_writes_per_batch)));
  starting_writes = false;
}

// One log entry for the first n queued writes; each gets its own result and the entry's index.
void HttpGateway::Impl::submit_batch(size_t n) {
  std::vector<Buffer> commands;
  std::vector<WriteDone> dones;
  commands.reserve(n);
  dones.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    commands.push_back(std::move(write_backlog.front().first));
    dones.push_back(std::move(write_backlog.front().second));
    write_backlog.pop_front();
  }
  ++batches_in_flight;
  raft.submit_on_loop(
      o.service, v2::encode_batch(commands),
      [this, dones = std::move(dones)](std::error_code ec, Buffer result) {
        --batches_in_flight;
        std::optional<v2::BatchResults> split;
        if (!ec) {
          split = v2::decode_batch_results(result);
          if (!split || split->results.size() != dones.size())
            ec = make_error_code(raft::ClientErrc::rejected);  // cannot happen: same codec
        }
        for (size_t i = 0; i < dones.size(); ++i)
          dones[i](ec, ec ? Buffer() : std::move(split->results[i]), ec ? 0 : split->log_index);
        start_writes();
      },
      o.request_timeout);
}

// On the loop: (re)publishes this member's URL under members_dir until the store has it.
void HttpGateway::Impl::publish_url() {
  if (publishing || raft.leader().empty() || raft.raft_id().empty()) return;
  std::string key = fmt::format("{}/{}", members_dir, raft.raft_id());
  auto now = store.get(key, false, false);
  if (auto* e = std::get_if<v2::Event>(&now); e && e->node.value == self_url) return;
  publishing = true;
  v2::Command c;
  c.op = v2::Op::set;
  c.path = std::move(key);
  c.value = self_url;
  raft.submit_on_loop(
      o.service, v2::encode(c), [this](std::error_code, Buffer) { publishing = false; },
      o.sync_interval * 4);
}

HttpGateway::HttpGateway(RaftHandle& raft, V2Store& store, GatewayOptions options)
    : impl_(std::make_unique<Impl>(raft, store, std::move(options))) {}

HttpGateway::~HttpGateway() {
  stop();
}

void HttpGateway::start() {
  Impl& g = *impl_;
  beast::error_code ec;
  auto address = asio::ip::make_address(g.o.host, ec);
  if (ec) throw std::runtime_error("http gateway: bad address " + g.o.host);
  tcp::endpoint ep(address, g.o.port);
  g.acceptor.open(ep.protocol(), ec);
  if (!ec) g.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) g.acceptor.bind(ep, ec);
  if (!ec) g.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error(
        fmt::format("http gateway: cannot listen on {}:{}: {}", g.o.host, g.o.port, ec.message()));
  g.self_url = fmt::format("http://{}:{}", g.o.host, port());
  g.started = true;
  if (g.o.threads == 0) {  // the loop's io_context: start there
    asio::post(*g.ioc, [&g] {
      g.accept();
      g.schedule_sync();
    });
    return;
  }
  g.work.emplace(g.ioc->get_executor());
  g.accept();
  g.schedule_sync();
  for (unsigned i = 0; i < g.o.threads; ++i)
    g.threads.emplace_back([&g] { g.ioc->run(); });
}

void HttpGateway::stop() {
  Impl& g = *impl_;
  if (g.stopped.exchange(true)) return;
  auto close_listener = [&g] {
    beast::error_code ignored;
    g.acceptor.close(ignored);
    g.sync_timer.cancel();
  };
  if (g.o.threads == 0) {
    if (!g.started) return;
    // On the channel's loop, which keeps running (and may still complete requests: the gateway
    // must outlive the channel's close, as cmd_node does).
    g.raft.channel().invoke(close_listener);
    return;
  }
  asio::post(*g.ioc, close_listener);
  g.work.reset();
  g.ioc->stop();
  for (auto& t : g.threads)
    t.join();
  g.threads.clear();
}

uint16_t HttpGateway::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

}  // namespace cohort::gateway
