// DNS_PING against a real dnsmasq on 127.0.0.1 (Debian `dnsmasq-base`; tools/setup.sh installs
// it, this test installs nothing and fails saying so if it is missing). Each test starts its own
// dnsmasq as a child process on a free port, serving TXT, SRV and A records, and stops it by PID.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/null_runtime.hpp"
#include "discovery/dns_ping.hpp"
#include "protocols/tcp_test_util.hpp"

using namespace cohort;
using namespace cohort::test;
namespace asio = boost::asio;

namespace {

std::string find_dnsmasq() {
  for (const char* p : {"/usr/sbin/dnsmasq", "/usr/bin/dnsmasq", "/sbin/dnsmasq"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

/// A port free for both UDP and TCP on 127.0.0.1 right now.
uint16_t free_port() {
  asio::io_context io;
  for (;;) {
    asio::ip::udp::socket u(io, asio::ip::udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), 0));
    uint16_t port = u.local_endpoint().port();
    boost::system::error_code ec;
    asio::ip::tcp::acceptor t(io);
    t.open(asio::ip::tcp::v4(), ec);
    if (!ec) t.bind(asio::ip::tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port), ec);
    if (!ec) return port;
  }
}

bool udp_port_taken(uint16_t port) {
  asio::io_context io;
  asio::ip::udp::socket u(io);
  boost::system::error_code ec;
  u.open(asio::ip::udp::v4(), ec);
  u.bind(asio::ip::udp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port), ec);
  return ec == asio::error::address_in_use;
}

/// A dnsmasq child process serving `records` (dnsmasq options) on 127.0.0.1:port.
class Dnsmasq {
 public:
  explicit Dnsmasq(const std::vector<std::string>& records) {
    std::string bin = find_dnsmasq();
    REQUIRE_MESSAGE(!bin.empty(),
                    "dnsmasq not found: DNS_PING's test needs a real dnsmasq (Debian package "
                    "dnsmasq-base; tools/setup.sh installs it)");
    // free_port() closes the port before dnsmasq binds it: a parallel test can take it in
    // between (an ephemeral port), so a start that fails on a taken address tries another port.
    std::string why;
    bool started = false;
    for (int attempt = 0; attempt < 5; ++attempt) {
      port = free_port();
      log = std::filesystem::temp_directory_path() /
            ("cohort-dnsmasq-" + std::to_string(::getpid()) + "-" + std::to_string(port) + ".log");
      std::vector<std::string> args{bin,
                                    "--no-daemon",
                                    "--conf-file=/dev/null",
                                    "--port=" + std::to_string(port),
                                    "--listen-address=127.0.0.1",
                                    "--bind-interfaces",
                                    "--no-resolv",
                                    "--no-hosts",
                                    "--pid-file=",
                                    "--user=root"};
      args.insert(args.end(), records.begin(), records.end());
      pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) {
        int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
          ::dup2(fd, 1);
          ::dup2(fd, 2);
        }
        std::vector<char*> argv;
        for (auto& a : args)
          argv.push_back(a.data());
        argv.push_back(nullptr);
        ::execv(argv[0], argv.data());
        ::_exit(127);
      }
      // Ready when its UDP port is taken; a child that exits has failed (its log says why).
      bool up = eventually([&] {
        int status = 0;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          pid = -1;
          return true;
        }
        return udp_port_taken(port);
      });
      std::ifstream in(log);
      std::stringstream ss;
      ss << in.rdbuf();
      why = ss.str();
      started = up && pid > 0;
      if (started || pid > 0 || why.find("in use") == std::string::npos) break;
      std::error_code ec;
      std::filesystem::remove(log, ec);  // the next attempt writes its own
    }
    if (!started && pid > 0) {  // alive but never ready: stop it here (no destructor runs)
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
      pid = -1;
    }
    REQUIRE_MESSAGE(started, "dnsmasq did not start: " << why);
  }
  ~Dnsmasq() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    std::error_code ec;
    std::filesystem::remove(log, ec);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }

  pid_t pid = -1;
  uint16_t port = 0;
  std::filesystem::path log;
};

std::vector<std::unique_ptr<Protocol>> tcp_dns_ping(uint16_t tcp_port,
                                                    std::map<std::string, std::string> attrs) {
  std::vector<std::unique_ptr<Protocol>> v;
  v.push_back(make_tcp({{"bind_port", std::to_string(tcp_port)}}));
  auto p = std::make_unique<DnsPing>();
  attrs.try_emplace("interval", "200ms");
  attrs.try_emplace("join_timeout", "300ms");
  attrs.try_emplace("member_timeout", "3s");
  attrs.try_emplace("dns_timeout", "500ms");
  for (auto& [k, val] : attrs)
    REQUIRE_MESSAGE(p->set_attribute(k, val) == "", k);
  v.push_back(std::move(p));
  return v;
}

std::vector<std::string> candidates_of(NetNode& n) {
  std::vector<std::string> c;
  n.ch->invoke([&] { c = n.ch->stack().find<DnsPing>()->candidates(); });
  return c;
}

bool same_view(std::vector<NetNode*> nodes, size_t size) {
  View first = nodes.front()->last_view();
  if (first.size() != size) return false;
  for (auto* n : nodes)
    if (n->last_view().members() != first.members()) return false;
  return true;
}

std::string hostport(uint16_t p) {
  return "127.0.0.1:" + std::to_string(p);
}

}  // namespace

TEST_CASE("DNS_PING: three members over TCP find each other from dnsmasq TXT records") {
  uint16_t pa = free_port(), pb = free_port(), pc = free_port();
  // A and B in one record (space-separated values; the quotes reach the record as they would from
  // a zone file that keeps them, and DNS_PING ignores them), C in a record of its own.
  Dnsmasq dns(
      {"--txt-record=_cohort._tcp.cluster.test,\"" + hostport(pa) + " " + hostport(pb) + "\"",
       "--txt-record=_cohort._tcp.cluster.test," + hostport(pc)});
  std::map<std::string, std::string> attrs{{"dns_query", "_cohort._tcp.cluster.test"},
                                           {"dns_address", dns.address()},
                                           {"dns_record_types", "TXT"}};
  std::string cluster = unique_net_cluster("dns-" + std::to_string(::getpid()));
  NetNode a, b, c;
  a.open("A", tcp_dns_ping(pa, attrs));
  b.open("B", tcp_dns_ping(pb, attrs));
  c.open("C", tcp_dns_ping(pc, attrs));
  for (auto* n : {&a, &b, &c})
    n->ch->connect(cluster);
  REQUIRE(eventually([&] { return same_view({&a, &b, &c}, 3); }));
  std::vector<std::string> expected{hostport(pa), hostport(pb), hostport(pc)};
  std::sort(expected.begin(), expected.end());
  CHECK(candidates_of(a) == expected);
  CHECK(a.stat("DNS_PING", "resolutions") > 0);
  CHECK(a.stat("DNS_PING", "dns_errors") == 0);

  b.ch->send(Address(), Buffer::copy_of(std::string_view("B to all")));
  for (auto* n : {&a, &b, &c})
    CHECK(eventually([&] { return n->count_of("B to all") == 1; }));
}

TEST_CASE("DNS_PING: SRV records (target resolved by A) and A records with port and port_range") {
  uint16_t ps = free_port(), pa = free_port();
  Dnsmasq dns({"--host-record=node1.cluster.test,127.0.0.1",
               "--srv-host=_cohort._tcp.cluster.test,node1.cluster.test," + std::to_string(ps),
               "--host-record=members.cluster.test,127.0.0.1"});
  std::string cluster = unique_net_cluster("dns-srv-" + std::to_string(::getpid()));

  NetNode s;
  s.open("S", tcp_dns_ping(free_port(), {{"dns_query", "_cohort._tcp.cluster.test"},
                                         {"dns_address", dns.address()},
                                         {"dns_record_types", "SRV"}}));
  s.ch->connect(cluster);
  CHECK(eventually([&] { return candidates_of(s) == std::vector<std::string>{hostport(ps)}; }));

  NetNode a;
  a.open("A", tcp_dns_ping(free_port(), {{"dns_query", "members.cluster.test"},
                                         {"dns_address", dns.address()},
                                         {"dns_record_types", "A"},
                                         {"port", std::to_string(pa)},
                                         {"port_range", "1"}}));
  a.ch->connect(cluster);
  std::vector<std::string> expected{hostport(pa), hostport(static_cast<uint16_t>(pa + 1))};
  std::sort(expected.begin(), expected.end());
  CHECK(eventually([&] { return candidates_of(a) == expected; }));

  // All three types at once on a name with only TXT garbage: bad values are counted, not fatal.
  NetNode t;
  Dnsmasq dns2({"--txt-record=bad.cluster.test,not-an-address,127.0.0.1:1234"});
  t.open("T", tcp_dns_ping(free_port(),
                           {{"dns_query", "bad.cluster.test"}, {"dns_address", dns2.address()}}));
  t.ch->connect(cluster + "-t");
  CHECK(eventually([&] { return candidates_of(t) == std::vector<std::string>{"127.0.0.1:1234"}; }));
  CHECK(t.stat("DNS_PING", "bad_records") > 0);
}

TEST_CASE("DNS_PING: an unreachable DNS server is counted, the member keeps running") {
  uint16_t nobody = free_port();  // nothing listens there
  NetNode a;
  a.open("A", tcp_dns_ping(free_port(), {{"dns_query", "_cohort._tcp.cluster.test"},
                                         {"dns_address", hostport(nobody)},
                                         {"dns_timeout", "50ms"},
                                         {"dns_tries", "1"}}));
  a.ch->connect(unique_net_cluster("dns-down-" + std::to_string(::getpid())));
  CHECK(eventually([&] { return a.stat("DNS_PING", "dns_errors") >= 2; }));
  CHECK(candidates_of(a).empty());
  CHECK(eventually([&] { return a.last_view().size() == 1; }));
  a.ch->close();
}

TEST_CASE("DNS_PING: configuration errors name the attribute") {
  auto error_of = [](std::map<std::string, std::string> attrs) -> std::string {
    ProtocolStack stack(std::make_shared<NullRuntime>());
    stack.add(make_tcp());
    auto p = std::make_unique<DnsPing>();
    for (auto& [k, v] : attrs)
      if (auto e = p->set_attribute(k, v); !e.empty()) return k + ": " + e;
    stack.add(std::move(p));
    try {
      stack.init();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  CHECK(error_of({{"dns_query", "x.test"}}) == "");
  CHECK(error_of({{"dns_query", "x.test"}, {"dns_address", "127.0.0.1:5353"}}) == "");
  CHECK(error_of({}).starts_with("dns_query:"));
  CHECK(error_of({{"dns_query", "x.test"}, {"dns_record_types", "TXT,MX"}}) ==
        "dns_record_types: unknown record type 'MX' (TXT, SRV, A)");
  CHECK(error_of({{"dns_query", "x.test"}, {"dns_address", "not a server"}})
            .starts_with("dns_address:"));
  CHECK(error_of({{"dns_query", "x.test"}, {"dns_tries", "0"}}).starts_with("dns_tries:"));
}
