#pragma once
// HttpGateway: an etcd v2 HTTP endpoint (Boost.Beast) on top of a member's RaftHandle and its
// V2Store service, so curl, etcdctl (ETCDCTL_API=2) and wrk talk to cohort as to etcd 3.4.
//
//   /v2/keys/...   PUT / POST / DELETE are replicated through the RaftHandle (any member: a
//                  follower forwards to the leader through CLIENT); GET reads with
//                  `read_mode` (quorum=true: linearizable); wait=true long-polls on this
//                  member's store (history first, then a local watcher).
//   /version, /health, /v2/members, /v2/machines, /v2/stats/self, /v2/stats/leader (minimal).
//
// Threads: by default the server shares the channel's loop (one thread, no cross-thread hop);
// with `threads` > 0 it runs on its own io_context and threads, and requests go to the loop only
// as posted work (RaftHandle::submit/read, watches) whose completions come back to the
// connection's strand. The code is the same either way: only the executors differ. Writes that
// reach the loop together become one batch entry; REPLICATION then batches entries proposed in one
// loop turn. While the store holds TTL keys, the gateway on the leader submits a sync entry every
// `sync_interval` so that expiry runs on cluster time (etcd's leader does the same with SYNC).
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "blocks/raft_handle.hpp"
#include "blocks/v2_store.hpp"

namespace cohort::gateway {

struct GatewayOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 2379;  ///< 0: any free port (see HttpGateway::port)
  /// 0: the server runs on the channel's own loop (an AsioRuntime): no thread hop between a
  /// request and Raft, the least CPU and latency per request. N > 0: N threads of its own, so
  /// parsing and answering run beside the loop (more cores, but two hops per request).
  unsigned threads = 0;
  /// How plain GETs are served; quorum=true always uses linearizable.
  raft::ReadMode read_mode = raft::ReadMode::linearizable;
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds sync_interval{500};
  /// Writes that reach the loop together go to Raft as one batch entry (V2Store applies them in
  /// order, each with its own index), so Raft's per-entry cost is paid once per batch.
  size_t max_writes_per_batch = 256;
  /// Batches submitted to Raft at once; more writes wait in a queue on the loop. Stays well
  /// below the session's result cache (SessionConfig::max_results_per_session, 1024).
  size_t max_batches_in_flight = 64;
  std::string service = "v2";  ///< the V2Store's name in the registry
};

/// Parses "host:port" ("127.0.0.1:2379"); throws std::invalid_argument.
void parse_listen_address(const std::string& s, GatewayOptions& o);
/// Parses linearizable | lease | stale; throws std::invalid_argument.
raft::ReadMode parse_read_mode(const std::string& s);

class HttpGateway {
 public:
  /// `store` is the V2Store registered in `raft` under options.service; both must outlive the
  /// gateway, and the store is touched only on the channel's loop.
  HttpGateway(RaftHandle& raft, V2Store& store, GatewayOptions options);
  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  /// Binds and starts the threads; throws std::runtime_error when the address is taken.
  void start();
  /// Stops accepting and joins the threads (idempotent). Call before the channel closes.
  void stop();
  uint16_t port() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace cohort::gateway
