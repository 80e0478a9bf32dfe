#include "discovery/dns_ping.hpp"

#include <ares.h>
#include <arpa/inet.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <map>
#include <mutex>
#include <stdexcept>

#include "discovery/tcpping.hpp"
#include "protocols/physical_address.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/protocol_ids.hpp"

namespace cohort {

namespace asio = boost::asio;

namespace {

constexpr int dns_class_in = 1;
constexpr int dns_type_a = 1;
constexpr int dns_type_txt = 16;
constexpr int dns_type_srv = 33;
constexpr size_t max_addresses = 1024;  // per resolution: a bound on what DNS can make us ask

void library_init() {
  static std::once_flag once;
  std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
}

std::string upper(std::string s) {
  for (auto& c : s)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

/// A c-ares channel with the given servers; throws std::invalid_argument naming the attribute.
ares_channel make_channel(const std::string& servers, Duration timeout, int tries,
                          ares_sock_state_cb state_cb, void* state_data) {
  library_init();
  ares_options opts{};
  int mask = ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  opts.timeout =
      static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count());
  opts.tries = tries;
  if (state_cb) {
    mask |= ARES_OPT_SOCK_STATE_CB;
    opts.sock_state_cb = state_cb;
    opts.sock_state_cb_data = state_data;
  }
  ares_channel ch = nullptr;
  if (int rc = ares_init_options(&ch, &opts, mask); rc != ARES_SUCCESS)
    throw std::invalid_argument(fmt::format("DNS_PING: c-ares init failed: {}", ares_strerror(rc)));
  if (!servers.empty()) {
    if (int rc = ares_set_servers_ports_csv(ch, servers.c_str()); rc != ARES_SUCCESS) {
      ares_destroy(ch);
      throw std::invalid_argument(fmt::format("dns_address: '{}' is not a list of ip:port: {}",
                                              servers, ares_strerror(rc)));
    }
  }
  return ch;
}

}  // namespace

// --- c-ares on the Asio loop --------------------------------------------------------------------

struct DnsPing::Resolver {
  using Callback = std::function<void(int status, const unsigned char* abuf, int alen)>;

  Resolver(asio::io_context& io, Runtime& rt, const std::string& servers, Duration timeout,
           int tries)
      : io(io), rt(rt) {
    channel = make_channel(servers, timeout, tries, &Resolver::on_sock_state, this);
  }
  ~Resolver() {
    timer.cancel();
    ares_destroy(channel);  // runs pending callbacks with ARES_EDESTRUCTION; closes the sockets
    for (auto& [fd, w] : watches)
      release(*w);
  }

  void query(const std::string& name, int type, Callback cb) {
    auto* arg = new Callback(std::move(cb));
    ares_query(channel, name.c_str(), dns_class_in, type, &Resolver::on_answer, arg);
    rearm_timer();
  }

 private:
  struct Watch {
    explicit Watch(asio::io_context& io, int fd) : d(io, fd), fd(fd) {}
    asio::posix::stream_descriptor d;
    int fd;
    bool want_read = false, want_write = false, reading = false, writing = false;
    bool closed = false;
  };

  static void on_answer(void* arg, int status, int, unsigned char* abuf, int alen) {
    std::unique_ptr<Callback> cb(static_cast<Callback*>(arg));
    if (status == ARES_EDESTRUCTION || status == ARES_ECANCELLED) return;  // shutting down
    (*cb)(status, abuf, alen);
  }

  /// c-ares tells us which sockets to watch; (fd, 0, 0) comes just before it closes fd.
  static void on_sock_state(void* data, ares_socket_t fd, int readable, int writable) {
    auto* self = static_cast<Resolver*>(data);
    auto it = self->watches.find(fd);
    if (!readable && !writable) {
      if (it != self->watches.end()) {
        self->release(*it->second);
        self->watches.erase(it);
      }
      return;
    }
    if (it == self->watches.end())
      it = self->watches.emplace(fd, std::make_shared<Watch>(self->io, fd)).first;
    it->second->want_read = readable != 0;
    it->second->want_write = writable != 0;
    self->arm(it->second);
  }

  /// Stops watching without closing: the descriptor belongs to c-ares.
  void release(Watch& w) {
    w.closed = true;
    w.d.release();  // outstanding waits complete with operation_aborted
  }

  void arm(const std::shared_ptr<Watch>& w) {
    if (w->closed) return;
    if (w->want_read && !w->reading) {
      w->reading = true;
      w->d.async_wait(asio::posix::stream_descriptor::wait_read,
                      [this, w](const boost::system::error_code& ec) {
                        w->reading = false;
                        if (w->closed || ec) return;
                        ares_process_fd(channel, w->fd, ARES_SOCKET_BAD);
                        arm(w);
                        rearm_timer();
                      });
    }
    if (w->want_write && !w->writing) {
      w->writing = true;
      w->d.async_wait(asio::posix::stream_descriptor::wait_write,
                      [this, w](const boost::system::error_code& ec) {
                        w->writing = false;
                        if (w->closed || ec) return;
                        ares_process_fd(channel, ARES_SOCKET_BAD, w->fd);
                        arm(w);
                        rearm_timer();
                      });
    }
  }

  /// c-ares' retransmissions and timeouts: one loop timer for its next deadline.
  void rearm_timer() {
    timer.cancel();
    timeval tv{};
    if (!ares_timeout(channel, nullptr, &tv)) return;  // nothing pending
    Duration d = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    timer = rt.schedule(d, [this] {
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
      rearm_timer();
    });
  }

  asio::io_context& io;
  Runtime& rt;
  ares_channel channel = nullptr;
  std::map<int, std::shared_ptr<Watch>> watches;
  TimerHandle timer;
};

// --- The protocol -------------------------------------------------------------------------------

DnsPing::DnsPing()
    : Discovery("DNS_PING", protocol_id::dns_ping),
      resolutions_(counter("resolutions", "DNS resolutions completed")),
      dns_errors_(counter("dns_errors", "resolutions that failed (previous answer kept)")),
      bad_records_(counter("bad_records", "TXT/SRV values that are not usable addresses")),
      addresses_found_(counter("addresses_found", "addresses listed by the last resolution")) {
  declare("dns_query", dns_query_, "the DNS name to resolve (e.g. _cohort._tcp.cluster.test)",
          true);
  declare("dns_address", dns_address_,
          "DNS servers as ip:port, comma-separated (empty: the system's resolv.conf)");
  declare("dns_record_types", dns_record_types_,
          "record types to query, comma-separated: TXT, SRV, A");
  declare("port", port_, "the port of members found by A records");
  declare("port_range", port_range_, "also ask the next port_range ports of A-record members");
  declare("dns_timeout", dns_timeout_, "time to wait for a DNS answer before retrying");
  declare("dns_tries", dns_tries_, "DNS attempts per query");
}

DnsPing::~DnsPing() {
  resolver_.reset();
}

void DnsPing::init() {
  Discovery::init();
  if (dns_query_.empty()) throw std::invalid_argument("dns_query: must not be empty");
  want_txt_ = want_srv_ = want_a_ = false;
  std::string_view types = dns_record_types_;
  while (!types.empty()) {
    size_t comma = types.find(',');
    std::string t = upper(std::string(types.substr(0, comma)));
    types = comma == std::string_view::npos ? std::string_view() : types.substr(comma + 1);
    t.erase(std::remove(t.begin(), t.end(), ' '), t.end());
    if (t == "TXT")
      want_txt_ = true;
    else if (t == "SRV")
      want_srv_ = true;
    else if (t == "A")
      want_a_ = true;
    else if (!t.empty())
      throw std::invalid_argument(
          fmt::format("dns_record_types: unknown record type '{}' (TXT, SRV, A)", t));
  }
  if (!want_txt_ && !want_srv_ && !want_a_)
    throw std::invalid_argument("dns_record_types: names no record type");
  if (port_ <= 0 || port_ > 65535) throw std::invalid_argument("port: must be 1..65535");
  if (port_range_ < 0 || port_range_ > 1000)
    throw std::invalid_argument("port_range: must be between 0 and 1000");
  if (dns_timeout_ < 1ms) throw std::invalid_argument("dns_timeout: must be at least 1ms");
  if (dns_tries_ < 1 || dns_tries_ > 10) throw std::invalid_argument("dns_tries: must be 1..10");

  auto* rt = dynamic_cast<AsioRuntime*>(&runtime());
  if (!rt) {  // validate the servers only
    ares_destroy(make_channel(dns_address_, dns_timeout_, dns_tries_, nullptr, nullptr));
    return;
  }
  resolver_ = std::make_unique<Resolver>(rt->io_context(), runtime(), dns_address_, dns_timeout_,
                                         dns_tries_);
}

void DnsPing::stop() {
  Discovery::stop();
  resolving_ = false;
  if (auto* rt = dynamic_cast<AsioRuntime*>(&runtime()); rt && resolver_) {
    // A fresh channel for a later reconnect; the old one's queries are abandoned.
    resolver_ = std::make_unique<Resolver>(rt->io_context(), runtime(), dns_address_, dns_timeout_,
                                           dns_tries_);
  }
}

void DnsPing::destroy() {
  resolver_.reset();
}

void DnsPing::find_candidates() {
  for (auto& c : candidates_)
    send_request(c);
  if (!resolving_) resolve();
}

namespace {

/// What one resolution collects from its queries.
struct Round {
  std::vector<std::string> found;
  int pending = 0;
  int failures = 0;
  int answers = 0;
  uint64_t bad = 0;
};

}  // namespace

void DnsPing::resolve() {
  if (!resolver_) return;
  resolving_ = true;
  auto round = std::make_shared<Round>();
  Resolver* resolver = resolver_.get();
  // Completes the round when its last query has answered (queries may answer synchronously).
  auto finish_one = [this, round] {
    if (--round->pending > 0) return;
    bad_records_ += round->bad;
    resolved(std::move(round->found), round->failures, round->answers);
  };
  auto outcome = [round](int status) {
    if (status == ARES_SUCCESS) return ++round->answers, true;
    if (status == ARES_ENODATA || status == ARES_ENOTFOUND)
      ++round->answers;  // the name exists without such records, or not at all: an answer
    else
      ++round->failures;
    return false;
  };
  auto add = [round](std::string physical) {
    if (round->found.size() < max_addresses) round->found.push_back(std::move(physical));
  };
  auto query_a = [resolver, round, outcome, add, finish_one](const std::string& name, int port,
                                                             int range) {
    ++round->pending;
    resolver->query(name, dns_type_a, [=](int status, const unsigned char* abuf, int alen) {
      if (outcome(status)) {
        ares_addrttl addrs[64];
        int n = 64;
        if (ares_parse_a_reply(abuf, alen, nullptr, addrs, &n) == ARES_SUCCESS) {
          for (int i = 0; i < n; ++i) {
            boost::asio::ip::address_v4 ip(ntohl(addrs[i].ipaddr.s_addr));
            for (int p = port; p <= port + range && p <= 65535; ++p)
              add(physical::format(ip, static_cast<uint16_t>(p)));
          }
        } else {
          ++round->bad;
        }
      }
      finish_one();
    });
  };

  ++round->pending;  // held until every query below is issued
  if (want_txt_) {
    ++round->pending;
    resolver->query(
        dns_query_, dns_type_txt,
        [round, outcome, add, finish_one](int status, const unsigned char* abuf, int alen) {
          ares_txt_ext* txt = nullptr;
          if (outcome(status) && ares_parse_txt_reply_ext(abuf, alen, &txt) == ARES_SUCCESS) {
            for (auto* t = txt; t; t = t->next) {
              std::string value(reinterpret_cast<const char*>(t->txt), t->length);
              std::replace(value.begin(), value.end(), ' ', ',');
              std::replace(value.begin(), value.end(), '\t', ',');
              std::replace(value.begin(), value.end(), '"', ',');  // quoted values
              // One value at a time, so one bad value spoils only itself.
              size_t start = 0;
              while (start <= value.size()) {
                size_t comma = value.find(',', start);
                std::string entry = value.substr(
                    start, comma == std::string::npos ? std::string::npos : comma - start);
                start = comma == std::string::npos ? value.size() + 1 : comma + 1;
                if (entry.empty()) continue;
                try {
                  for (auto& p : parse_initial_hosts(entry, 0))
                    add(std::move(p));
                } catch (const std::invalid_argument&) {
                  ++round->bad;
                }
              }
            }
            ares_free_data(txt);
          }
          finish_one();
        });
  }
  if (want_srv_) {
    ++round->pending;
    resolver->query(
        dns_query_, dns_type_srv,
        [round, outcome, add, finish_one, query_a](int status, const unsigned char* abuf,
                                                   int alen) {
          ares_srv_reply* srv = nullptr;
          if (outcome(status) && ares_parse_srv_reply(abuf, alen, &srv) == ARES_SUCCESS) {
            for (auto* s = srv; s; s = s->next) {
              std::string host = s->host ? s->host : "";
              if (host.empty() || s->port == 0) {
                ++round->bad;
              } else if (auto ip = physical::parse_ip(host)) {
                add(physical::format(*ip, s->port));
              } else {
                query_a(host, s->port, 0);
              }
            }
            ares_free_data(srv);
          }
          finish_one();
        });
  }
  if (want_a_) query_a(dns_query_, port_, port_range_);
  finish_one();
}

void DnsPing::resolved(std::vector<std::string> found, int failures, int answers) {
  resolving_ = false;
  ++resolutions_;
  if (answers == 0 && failures > 0) {
    ++dns_errors_;
    spdlog::debug("DNS_PING: resolving {} failed; keeping {} known addresses", dns_query_,
                  candidates_.size());
    return;
  }
  std::sort(found.begin(), found.end());
  found.erase(std::unique(found.begin(), found.end()), found.end());
  candidates_ = std::move(found);
  addresses_found_ = candidates_.size();
  for (auto& c : candidates_)
    send_request(c);
}

}  // namespace cohort
