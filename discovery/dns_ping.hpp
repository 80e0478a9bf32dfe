#pragma once
// DNS_PING: discovery from DNS records (JGroups' DNS_PING, plus TXT). At connect and every
// `interval` the name `dns_query` is resolved (record types from `dns_record_types`):
//
//   * TXT: each record lists members as "host:port" (or "host[port]") values, several per record
//     separated by spaces or commas, or one per record: `_cohort._tcp.cluster.test TXT
//     "127.0.0.1:7800 127.0.0.1:7801"`. Hosts are numeric IP addresses.
//   * SRV: each record names a target host and port; a target that is not an IP address is
//     resolved with an A query.
//   * A: each address with `port` (and the `port_range` ports above it).
//
// The addresses found are asked like TCPPING's initial hosts (discovery/discovery.hpp); the last
// successful answer is kept and asked every interval while the next resolution runs, so a DNS
// outage does not lose members already found. `dns_address` ("127.0.0.1:5353", comma-separated
// for several) picks the DNS servers; empty = the system's (/etc/resolv.conf).
//
// DNS runs on the channel's loop, not on runtime().offload(): c-ares is non-blocking, and its
// sockets are watched with Asio (posix::stream_descriptor::async_wait, via c-ares' socket-state
// callback) with a loop timer for its retransmissions. A blocking resolver on the offload worker
// would hold up the work queued behind it (the Raft log's fsyncs) for a whole DNS timeout.
// Without an AsioRuntime (`cohort check`, the simulator) the attributes are validated only.
//
// Loop affinity: everything runs on the channel's loop.
#include <memory>
#include <string>
#include <vector>

#include "discovery/discovery.hpp"

namespace cohort {

class DnsPing : public Discovery {
 public:
  DnsPing();
  ~DnsPing() override;
  void init() override;
  void stop() override;
  void destroy() override;

  /// "host:port" of the members listed by the last successful resolution.
  const std::vector<std::string>& candidates() const { return candidates_; }

  struct Resolver;  // c-ares on the Asio loop (dns_ping.cpp)

 protected:
  void find_candidates() override;

 private:
  void resolve();
  void resolved(std::vector<std::string> found, int failures, int answers);

  std::string dns_query_;
  std::string dns_address_;
  std::string dns_record_types_ = "TXT,SRV,A";
  int port_ = 7800;
  int port_range_ = 0;
  Duration dns_timeout_ = 2s;
  int dns_tries_ = 2;

  bool want_txt_ = false, want_srv_ = false, want_a_ = false;
  std::unique_ptr<Resolver> resolver_;
  bool resolving_ = false;
  std::vector<std::string> candidates_;

  uint64_t& resolutions_;
  uint64_t& dns_errors_;
  uint64_t& bad_records_;
  uint64_t& addresses_found_;
};

}  // namespace cohort
