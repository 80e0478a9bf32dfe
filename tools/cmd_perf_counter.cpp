// `cohort perf counter [--clients 1,16,128] [--seconds 5] [--log file|memory]`: like
// jgroups-raft's CounterPerf. Three members in this process (tools/perf_cluster.hpp: the stock
// raft.xml over TCP on 127.0.0.1, file logs with fsync on), each with a RaftHandle serving the
// stock services; N client threads spread round-robin over the members, each running
// increment_and_get() on one shared Counter in a closed loop (blocking on each result). Commands
// go through CLIENT (followers forward to the leader) inside each handle's client session
// (exactly-once). Prints increments/s and latency; at the end checks that the counter equals the
// number of acknowledged increments. Asserts nothing.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "blocks/counter.hpp"
#include "tools/commands.hpp"
#include "tools/perf_cluster.hpp"
#include "tools/raft_services.hpp"

namespace cohort::tools {

namespace {

using Clock = std::chrono::steady_clock;

struct CounterPerfOptions {
  std::vector<size_t> clients;
  double seconds = 5;
  double warmup = 1;
  std::string log = "file";
  int port = 7960;
};

struct ClientResult {
  std::vector<uint32_t> latencies;
  uint64_t acked = 0;  ///< every acknowledged increment, warm-up included
  uint64_t errors = 0;
};

void run(size_t clients, const CounterPerfOptions& o, PerfCluster& cluster,
         std::vector<std::unique_ptr<RaftServices>>& members, int64_t& expected) {
  std::atomic<bool> stop{false}, measuring{false};
  std::vector<ClientResult> results(clients);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < clients; ++t)
    threads.emplace_back([&, t] {
      Counter counter(*members[t % members.size()]->handle, "perf");
      ClientResult& r = results[t];
      while (!stop.load(std::memory_order_relaxed)) {
        std::promise<std::error_code> p;
        auto f = p.get_future();
        auto start = Clock::now();
        counter.increment_and_get([&p](std::error_code ec, int64_t) { p.set_value(ec); });
        std::error_code ec = f.get();
        auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
        if (ec) {
          ++r.errors;
          std::this_thread::sleep_for(std::chrono::milliseconds(5));
          continue;
        }
        ++r.acked;
        if (measuring.load(std::memory_order_relaxed))
          r.latencies.push_back(static_cast<uint32_t>(us.count()));
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(o.warmup));
  uint64_t syncs0 = 0, syncs1 = 0;
  for (size_t i = 0; i < cluster.size(); ++i)
    syncs0 += cluster.stat(i, "REPLICATION", "syncs");
  measuring = true;
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::duration<double>(o.seconds));
  measuring = false;
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  for (size_t i = 0; i < cluster.size(); ++i)
    syncs1 += cluster.stat(i, "REPLICATION", "syncs");
  stop = true;
  for (auto& th : threads)
    th.join();
  std::vector<uint32_t> all;
  uint64_t errors = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies.begin(), r.latencies.end());
    expected += static_cast<int64_t>(r.acked);
    errors += r.errors;
  }
  double rate = static_cast<double>(all.size()) / seconds;
  LatencySummary l = summarize(all);
  std::string notes = load_average();
  if (errors) notes += fmt::format("  (errors {})", errors);
  fmt::print("  {:>7}  {:>12.0f}  {:>8.0f}  {:>8.0f}  {:>8.0f}  {:>9}  {}\n", clients, rate,
             l.p50_us, l.p99_us, l.max_us, syncs1 - syncs0, notes);
  std::fflush(stdout);
}

}  // namespace

void add_perf_counter_command(CLI::App& app) {
  CLI::App* perf = nullptr;
  for (auto* sc : app.get_subcommands([](CLI::App* c) { return c->get_name() == "perf"; }))
    perf = sc;
  if (!perf) {
    perf = app.add_subcommand("perf", "Benchmarks that print figures");
    perf->require_subcommand(1);
  }
  auto o = std::make_shared<CounterPerfOptions>();
  auto* cmd = perf->add_subcommand(
      "counter", "Counter increments/s and latency: 3 members in-process, N client threads");
  cmd->add_option("--clients", o->clients, "client threads, closed loop (1,16,128)")
      ->delimiter(',');
  cmd->add_option("--seconds", o->seconds, "measured seconds per row")->check(CLI::PositiveNumber);
  cmd->add_option("--warmup", o->warmup, "seconds before measuring each row");
  cmd->add_option("--log", o->log, "file (fsync on) or memory")
      ->check(CLI::IsMember({"file", "memory"}));
  cmd->add_option("--port", o->port, "TCP ports port..port+2 on 127.0.0.1");
  cmd->callback([o] {
    if (o->clients.empty()) o->clients = {1, 16, 128};
    fmt::print(
        "cohort perf counter: 3 members in one process over TCP (127.0.0.1:{}-{}), {} log, "
        "client threads round-robin over the members, Counter::increment_and_get through "
        "RaftHandle/CLIENT, {} s per row after {} s warm-up\n",
        o->port, o->port + 2, o->log, o->seconds, o->warmup);
    std::vector<std::unique_ptr<RaftServices>> members;
    PerfCluster cluster(o->log, o->port,
                        [&](Channel& ch) { members.push_back(attach_raft_services(ch)); });
    int leader = cluster.wait_for_leader(std::chrono::seconds(15));
    if (leader < 0) {
      fmt::print("  no leader elected within 15 s\n");
      cluster.close();
      return;
    }
    fmt::print("  {:>7}  {:>12}  {:>8}  {:>8}  {:>8}  {:>9}  {}\n", "clients", "increments/s",
               "p50 µs", "p99 µs", "max µs", "syncs(3)", "load avg");
    int64_t expected = 0;
    for (size_t n : o->clients)
      run(n, *o, cluster, members, expected);
    std::promise<std::pair<std::error_code, int64_t>> p;
    Counter check(*members[static_cast<size_t>(leader)]->handle, "perf");
    check.get([&p](std::error_code ec, int64_t v) { p.set_value({ec, v}); });
    auto [ec, value] = p.get_future().get();
    if (ec)
      fmt::print("  check: cannot read the counter: {}\n", ec.message());
    else
      fmt::print("  check: counter = {}, acknowledged increments = {}: {}\n", value, expected,
                 value == expected ? "ok" : "MISMATCH");
    cluster.close();
    members.clear();
  });
}

}  // namespace cohort::tools
