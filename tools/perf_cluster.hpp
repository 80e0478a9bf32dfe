#pragma once
// A 3-member Raft cluster inside one process for the Raft benchmarks (`cohort perf raft`,
// `cohort perf counter`): the stock raft.xml (compiled in) over TCP on 127.0.0.1 with distinct
// ports, each member a Channel on its own loop thread, file logs (fsync on) or memory logs in a
// temporary folder that is removed at the end.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "stack/channel.hpp"

namespace cohort::tools {

class PerfCluster {
 public:
  /// `log`: "file" or "memory". Ports base_port .. base_port+2. `before_connect` runs for each
  /// channel before it connects (attach a RaftHandle there).
  PerfCluster(const std::string& log, int base_port,
              const std::function<void(Channel&)>& before_connect = {});
  /// Closes every channel (if close() was not called) and removes the temporary folder.
  ~PerfCluster();
  PerfCluster(const PerfCluster&) = delete;
  PerfCluster& operator=(const PerfCluster&) = delete;

  /// Index of the member that leads with an entry of its term committed; -1 after `timeout`.
  int wait_for_leader(std::chrono::milliseconds timeout);
  Channel& member(size_t i) { return *channels_.at(i); }
  size_t size() const { return channels_.size(); }
  /// A protocol's counter on member i (read on its loop), e.g. ("REPLICATION", "syncs").
  uint64_t stat(size_t i, const std::string& protocol, const std::string& name);
  /// Closes the channels (idempotent); objects that use them may be destroyed afterwards.
  void close();

 private:
  std::string dir_;
  std::vector<std::unique_ptr<Channel>> channels_;
  bool closed_ = false;
};

/// Latency summary in µs.
struct LatencySummary {
  double p50_us = 0, p99_us = 0, max_us = 0;
};
LatencySummary summarize(std::vector<uint32_t>& latencies_us);

/// "1.23, 4.56, 7.89" from /proc/loadavg (empty if unreadable).
std::string load_average();

}  // namespace cohort::tools
