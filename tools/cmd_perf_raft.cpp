// `cohort perf raft [--log file|memory|both] [--proposers 1,16,256] [--seconds 5] [--size 100]`:
// Raft commit throughput and latency. Three members in this process (tools/perf_cluster.hpp:
// the stock raft.xml over TCP on 127.0.0.1, each member on its own loop thread, file logs with
// fsync in a temporary folder, or memory logs).
//
// N proposers, closed loop, on the leader: each proposer sends a raw command of --size bytes as a
// `raft_event::propose` event straight into REPLICATION (no CLIENT, no sessions, no state
// machine), and its next command when the entry comes back as `raft_event::applied` on the
// leader, i.e. committed (durable on a majority, the leader's own fsync included) and applied.
// Each proposal is posted to the loop as its own task, as commands from independent clients
// would arrive. Latency: propose → applied on the leader. Prints figures; asserts nothing.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <any>
#include <chrono>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "protocols/raft/raft_events.hpp"
#include "tools/commands.hpp"
#include "tools/perf_cluster.hpp"

namespace cohort::tools {

namespace {

using Clock = std::chrono::steady_clock;

struct RaftPerfOptions {
  std::string log = "both";
  std::vector<size_t> proposers;
  double seconds = 5;
  double warmup = 1;
  size_t size = 100;
  int port = 7950;
};

/// The closed-loop load; lives on the leader's loop (every member function runs there).
class Load : public std::enable_shared_from_this<Load> {
 public:
  Load(Channel& ch, size_t size) : ch_(ch) { cmd_ = Buffer(std::vector<uint8_t>(size, 0x5a)); }

  void start(size_t proposers) {
    running_ = true;
    for (size_t i = 0; i < proposers; ++i)
      post_propose();
  }
  void begin_measure() {
    measuring_ = true;
    commits_ = 0;
    latencies_.clear();
    t0_ = Clock::now();
  }
  void end_measure() {
    measuring_ = false;
    seconds_ = std::chrono::duration<double>(Clock::now() - t0_).count();
  }
  void stop() { running_ = false; }
  bool drained() const { return outstanding_ == 0; }

  void on_event(const Event& ev) {
    if (ev.type != raft::raft_event::applied) return;
    raft::Index index = ev.get<raft::Applied>().index;
    auto now = Clock::now();
    while (!inflight_.empty() && inflight_.front().first <= index) {
      auto [i, t] = inflight_.front();
      inflight_.pop_front();
      if (i == index && measuring_) {
        ++commits_;
        latencies_.push_back(static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::microseconds>(now - t).count()));
      } else if (i != index) {
        ++lost_;  // overwritten by another leader's entry
      }
      --outstanding_;
      if (running_) post_propose();
    }
  }

  uint64_t commits() const { return commits_; }
  uint64_t errors() const { return errors_; }
  const std::string& last_error() const { return last_error_; }
  uint64_t lost() const { return lost_; }
  double seconds() const { return seconds_; }
  std::vector<uint32_t>& latencies() { return latencies_; }

 private:
  void post_propose() {
    ++outstanding_;
    ch_.runtime().post([self = shared_from_this()] { self->propose(); });
  }
  void propose() {
    if (!running_) return void(--outstanding_);
    auto t = Clock::now();
    Event ev(raft::raft_event::propose, raft::ProposeRequest{cmd_});
    auto out = std::any_cast<raft::ProposeOutcome>(ch_.stack().down(ev));
    if (!out.ok()) {
      ++errors_;
      last_error_ = out.error + (out.leader_hint.empty() ? "" : ", leader " + out.leader_hint);
      // Not the leader any more (or transferring): try again shortly (still outstanding).
      retry_ = ch_.runtime().schedule(std::chrono::milliseconds(5),
                                      [self = shared_from_this()] { self->propose(); });
      return;
    }
    inflight_.emplace_back(out.index, t);
  }

  Channel& ch_;
  Buffer cmd_;
  bool running_ = false, measuring_ = false;
  size_t outstanding_ = 0;
  std::deque<std::pair<raft::Index, Clock::time_point>> inflight_;
  std::vector<uint32_t> latencies_;
  uint64_t commits_ = 0, errors_ = 0, lost_ = 0;
  std::string last_error_;
  Clock::time_point t0_;
  double seconds_ = 0;
  TimerHandle retry_;
};

void run_log(const std::string& log, const RaftPerfOptions& o) {
  PerfCluster cluster(log, o.port);
  int leader = cluster.wait_for_leader(std::chrono::seconds(15));
  if (leader < 0) {
    fmt::print("  {:<6}  no leader elected within 15 s\n", log);
    return;
  }
  Channel& ch = cluster.member(static_cast<size_t>(leader));
  for (size_t n : o.proposers) {
    auto load = std::make_shared<Load>(ch, o.size);
    uint64_t listener = 0;
    ch.invoke([&] {
      listener = ch.on_event([load](const Event& ev) { load->on_event(ev); });
      load->start(n);
    });
    std::vector<uint64_t> syncs0(3), syncs1(3);
    std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
    for (size_t i = 0; i < 3; ++i)
      syncs0[i] = cluster.stat(i, "REPLICATION", "syncs");
    ch.invoke([&] { load->begin_measure(); });
    std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
    ch.invoke([&] { load->end_measure(); });
    for (size_t i = 0; i < 3; ++i)
      syncs1[i] = cluster.stat(i, "REPLICATION", "syncs");
    ch.invoke([&] { load->stop(); });
    auto deadline = Clock::now() + std::chrono::seconds(10);
    bool drained = false;
    while (!drained && Clock::now() < deadline) {
      ch.invoke([&] { drained = load->drained(); });
      if (!drained) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ch.invoke([&] { ch.remove_event_listener(listener); });
    if (!drained) {
      fmt::print("  (proposals still in flight after 10 s; stopping this run)\n");
      std::fflush(stdout);
      return;
    }
    double rate = static_cast<double>(load->commits()) / load->seconds();
    uint64_t leader_syncs =
        syncs1[static_cast<size_t>(leader)] - syncs0[static_cast<size_t>(leader)];
    uint64_t all_syncs = 0;
    for (size_t i = 0; i < 3; ++i)
      all_syncs += syncs1[i] - syncs0[i];
    double per_sync =
        leader_syncs ? static_cast<double>(load->commits()) / static_cast<double>(leader_syncs) : 0;
    LatencySummary l = summarize(load->latencies());
    std::string notes = load_average();
    if (load->errors() + load->lost())
      notes += fmt::format("  (refused {}, last: {}; lost {})", load->errors(), load->last_error(),
                           load->lost());
    fmt::print("  {:<6}  {:>9}  {:>10.0f}  {:>8.0f}  {:>8.0f}  {:>8.0f}  {:>12.1f}  {:>9}  {}\n",
               log, n, rate, l.p50_us, l.p99_us, l.max_us, per_sync, all_syncs, notes);
    std::fflush(stdout);
  }
}

}  // namespace

void add_perf_raft_command(CLI::App& app) {
  CLI::App* perf = nullptr;
  for (auto* sc : app.get_subcommands([](CLI::App* c) { return c->get_name() == "perf"; }))
    perf = sc;
  if (!perf) {
    perf = app.add_subcommand("perf", "Benchmarks that print figures");
    perf->require_subcommand(1);
  }
  auto o = std::make_shared<RaftPerfOptions>();
  auto* cmd = perf->add_subcommand(
      "raft", "Raft commits/s and latency: 3 members in-process over TCP, N proposers");
  cmd->add_option("--log", o->log, "file (fsync on), memory, or both")
      ->check(CLI::IsMember({"file", "memory", "both"}));
  cmd->add_option("--proposers", o->proposers, "concurrent proposers, closed loop (1,16,256)")
      ->delimiter(',');
  cmd->add_option("--seconds", o->seconds, "measured seconds per row")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", o->warmup, "seconds before measuring each row");
  cmd->add_option("--size", o->size, "command bytes");
  cmd->add_option("--port", o->port, "TCP ports port..port+2 on 127.0.0.1");
  cmd->callback([o] {
    if (o->proposers.empty()) o->proposers = {1, 16, 256};
    fmt::print(
        "cohort perf raft: 3 members in one process over TCP (127.0.0.1:{}-{}, the next log +3), "
        "{} B "
        "commands "
        "proposed on the leader (raft_event::propose, done at raft_event::applied), "
        "{} s per row after {} s warm-up\n",
        o->port, o->port + 2, o->size, o->seconds, o->warmup);
    fmt::print("  {:<6}  {:>9}  {:>10}  {:>8}  {:>8}  {:>8}  {:>12}  {:>9}  {}\n", "log",
               "proposers", "commits/s", "p50 µs", "p99 µs", "max µs", "commits/sync", "syncs(3)",
               "load avg");
    std::vector<std::string> logs;
    if (o->log == "both")
      logs = {"file", "memory"};
    else
      logs = {o->log};
    for (size_t k = 0; k < logs.size(); ++k) {
      RaftPerfOptions run = *o;
      run.port = o->port + static_cast<int>(3 * k);  // fresh ports for each cluster
      run_log(logs[k], run);
    }
  });
}

}  // namespace cohort::tools
