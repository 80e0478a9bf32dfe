// `cohort demo`: the README's main job. Three member processes on 127.0.0.1 (file logs in a
// temporary folder, the stock raft.xml compiled in) and a scripted session through remote
// clients: concurrent counter increments from all members, a lock passed around with its
// fencing tokens, map writes; then the leader is killed with SIGKILL mid-workload, a new one is
// elected, every acknowledged write is checked, and the killed member is restarted and catches
// up. It ends with a summary table and stops every process it started.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "blocks/counter_codec.hpp"
#include "blocks/lock_codec.hpp"
#include "blocks/map_codec.hpp"
#include "blocks/remote_client.hpp"
#include "tools/commands.hpp"
#include "tools/embedded_configs.hpp"
#include "tools/process_cluster.hpp"

namespace cohort::tools {

namespace {

using Clock = std::chrono::steady_clock;
using Map = MapCodec<std::string, std::string>;

struct DemoOptions {
  int base_port = 7800;
  int client_port = 9800;
  int increments = 300;  // per member, in the first phase
  bool keep = false;     // keep the temporary folder
};

long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::pair<std::error_code, Buffer> submit(RemoteClient& c, const std::string& service, Buffer cmd) {
  std::promise<std::pair<std::error_code, Buffer>> p;
  c.submit(
      service, std::move(cmd),
      [&p](std::error_code ec, Buffer r) {
        p.set_value({ec, std::move(r)});
      },
      10s);
  return p.get_future().get();
}

std::pair<std::error_code, raft::ReadOutcome> read(RemoteClient& c, const std::string& service,
                                                   Buffer q) {
  std::promise<std::pair<std::error_code, raft::ReadOutcome>> p;
  c.read(
      service, std::move(q), raft::ReadMode::linearizable,
      [&p](std::error_code ec, raft::ReadOutcome r) {
        p.set_value({ec, std::move(r)});
      },
      10s);
  return p.get_future().get();
}

std::optional<raft::RaftStatus> status(RemoteClient& c) {
  std::promise<std::optional<raft::RaftStatus>> p;
  c.status(
      [&p](std::error_code ec, raft::RaftStatus s) {
        p.set_value(ec ? std::nullopt : std::optional(std::move(s)));
      },
      2s);
  return p.get_future().get();
}

// Closed-loop increments from one client, `concurrency` at a time, until stopped or `limit`.
struct IncrementWorkload {
  IncrementWorkload(RemoteClient& c, std::atomic<int64_t>& a, std::atomic<int64_t>& f)
      : client(c), acked(a), failed(f) {}
  RemoteClient& client;
  std::atomic<int64_t>& acked;
  std::atomic<int64_t>& failed;
  std::atomic<bool> stop{false};
  std::atomic<int> in_flight{0};
  std::atomic<int64_t> started{0};
  int64_t limit = INT64_MAX;

  void run(int concurrency) {
    for (int i = 0; i < concurrency; ++i)
      next();
  }
  void next() {
    if (stop || started.fetch_add(1) >= limit) return;
    ++in_flight;
    client.submit(
        "counter", counter_codec::increment_and_get("demo-counter"),
        [this](std::error_code ec, Buffer r) {
          if (!ec && counter_codec::decode_value(r).ok())
            ++acked;
          else
            ++failed;
          next();
          --in_flight;
        },
        30s);
  }
  void wait_idle() {
    while (in_flight > 0)
      std::this_thread::sleep_for(5ms);
  }
};

struct Check {
  std::string what;
  bool ok;
};

int run_demo(const DemoOptions& o) {
  namespace fs = std::filesystem;
  char tmpl[] = "/tmp/cohort-demo-XXXXXX";
  if (!mkdtemp(tmpl)) return fmt::print(stderr, "cannot create a temporary folder\n"), 1;
  std::string dir = tmpl;
  std::string config = dir + "/raft.xml";
  std::ofstream(config) << embedded::raft_xml;
  std::vector<Check> checks;
  std::vector<std::pair<std::string, std::string>> figures;

  fmt::print("== cohort demo: 3 members on 127.0.0.1, file logs in {}\n", dir);
  ProcessCluster cluster(fs::read_symlink("/proc/self/exe").string(), config, dir, {"A", "B", "C"},
                         o.base_port, o.client_port);
  auto t0 = Clock::now();
  cluster.start_all();
  for (auto& m : cluster.members())
    fmt::print("   started member {} (pid {}), client port {}\n", m.name, m.pid, m.client_port);

  // One client per member, each preferring its own member and failing over to the others.
  std::vector<std::unique_ptr<RemoteClient>> clients;
  auto addrs = cluster.client_addresses();
  for (size_t i = 0; i < addrs.size(); ++i) {
    std::vector<std::string> order;
    for (size_t k = 0; k < addrs.size(); ++k)
      order.push_back(addrs[(i + k) % addrs.size()]);
    clients.push_back(std::make_unique<RemoteClient>(order, "demo-" + cluster.members()[i].name));
  }
  std::string leader;
  raft::Term term = 0;
  auto find_leader = [&](const std::string& not_this, long limit_ms) {
    auto start = Clock::now();
    while (ms_since(start) < limit_ms) {
      for (auto& c : clients)
        if (auto s = status(*c); s && !s->leader.empty() && s->leader != not_this) {
          leader = s->leader;
          term = s->term;
          return true;
        }
      std::this_thread::sleep_for(20ms);
    }
    return false;
  };
  bool elected = find_leader("", 30000);
  checks.push_back({"a leader is elected", elected});
  if (!elected) return fmt::print("no leader after 30 s; see {}/*.log\n", dir), 1;
  fmt::print("== leader {} elected, term {} ({} ms after start)\n", leader, term, ms_since(t0));
  figures.push_back({"first election", fmt::format("{} ms", ms_since(t0))});

  // 1. Concurrent increments from all members.
  std::atomic<int64_t> acked{0}, failed{0};
  {
    auto start = Clock::now();
    std::vector<std::unique_ptr<IncrementWorkload>> loads;
    for (auto& c : clients) {
      loads.push_back(std::make_unique<IncrementWorkload>(*c, acked, failed));
      loads.back()->limit = o.increments;
      loads.back()->run(8);
    }
    for (auto& l : loads)
      l->wait_idle();
    long ms = ms_since(start);
    fmt::print("== {} increments acknowledged from 3 members in {} ms ({:.0f}/s), {} failed\n",
               acked.load(), ms, acked * 1000.0 / std::max(1L, ms), failed.load());
    figures.push_back({"increments/s (3 clients x 8 in flight, fsync on)",
                       fmt::format("{:.0f}", acked * 1000.0 / std::max(1L, ms))});
  }
  auto [ec1, r1] = read(*clients[0], "counter", counter_codec::get("demo-counter"));
  int64_t value1 = ec1 ? -1 : counter_codec::decode_value(r1.result).value;
  fmt::print("   counter = {} (linearizable read)\n", value1);
  checks.push_back({"counter equals acknowledged increments", value1 == acked});

  // 2. A lock passed around: each grant carries a larger fencing token.
  fmt::print("== a lock passed around\n");
  uint64_t last_token = 0;
  bool tokens_increase = true;
  for (int round = 0; round < 6; ++round) {
    auto& c = *clients[static_cast<size_t>(round) % clients.size()];
    const std::string& who = cluster.members()[static_cast<size_t>(round) % clients.size()].name;
    for (;;) {
      auto [ec, r] = submit(c, "lock", lock_codec::try_lock("demo-lock"));
      auto reply = lock_codec::decode_reply(r);
      if (!ec && reply.ok() && reply.value.outcome == LockOutcome::acquired) {
        fmt::print("   client of {} holds demo-lock, fencing token {}\n", who, reply.value.token);
        tokens_increase &= reply.value.token > last_token;
        last_token = reply.value.token;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    submit(c, "lock", lock_codec::unlock("demo-lock"));
  }
  checks.push_back({"fencing tokens strictly increase", tokens_increase});

  // 3. Map writes through different members.
  fmt::print("== map writes\n");
  const char* cities[] = {"Lyon", "Newcastle", "Victoria", "Stanford", "Zurich", "Oslo"};
  for (size_t i = 0; i < 6; ++i)
    submit(*clients[i % 3], "map", Map::put(fmt::format("city-{}", i), cities[i]));
  auto [ec2, r2] = read(*clients[2], "map", Map::size());
  uint64_t map_size = ec2 ? 0 : Map::decode_size(r2.result).value;
  fmt::print("   6 puts through 3 members; size read through C = {}\n", map_size);
  checks.push_back({"map holds every write", map_size == 6});

  // 4. Kill the leader with SIGKILL while all members increment.
  fmt::print("== killing the leader mid-workload\n");
  int64_t acked_before = acked;
  std::vector<std::unique_ptr<IncrementWorkload>> loads;
  for (auto& c : clients) {
    loads.push_back(std::make_unique<IncrementWorkload>(*c, acked, failed));
    loads.back()->run(4);
  }
  std::this_thread::sleep_for(300ms);
  size_t victim = 0;
  for (size_t i = 0; i < cluster.members().size(); ++i)
    if (cluster.members()[i].name == leader) victim = i;
  std::string old_leader = leader;
  auto kill_time = Clock::now();
  fmt::print("   kill -9 {} (pid {}), the leader of term {}\n", old_leader,
             cluster.members()[victim].pid, term);
  cluster.kill(victim);
  bool reelected = find_leader(old_leader, 20000);
  long failover_ms = ms_since(kill_time);
  checks.push_back({"a new leader is elected", reelected});
  fmt::print("   new leader {} elected, term {}, {} ms after the kill\n", leader, term,
             failover_ms);
  figures.push_back({"fail-over (kill -9 to new leader seen)", fmt::format("{} ms", failover_ms)});
  std::this_thread::sleep_for(700ms);
  for (auto& l : loads)
    l->stop = true;
  for (auto& l : loads)
    l->wait_idle();
  fmt::print("   {} more increments acknowledged during the fail-over, {} failed\n",
             acked - acked_before, failed.load());
  auto [ec3, r3] = read(*clients[(victim + 1) % 3], "counter", counter_codec::get("demo-counter"));
  int64_t value2 = ec3 ? -1 : counter_codec::decode_value(r3.result).value;
  fmt::print("   counter = {}, acknowledged increments = {}\n", value2, acked.load());
  checks.push_back({"no acknowledged increment lost, none applied twice", value2 == acked});
  auto [ec4, r4] = read(*clients[(victim + 1) % 3], "map", Map::size());
  checks.push_back(
      {"map writes survive the leader's death", !ec4 && Map::decode_size(r4.result).value == 6});

  // 5. Restart the killed member: it recovers its log from disk and catches up.
  fmt::print("== restarting {}\n", old_leader);
  auto restart_time = Clock::now();
  cluster.start(victim);
  RemoteClient own({cluster.members()[victim].client_address()}, "demo-restart");
  auto leader_status = status(*clients[(victim + 1) % 3]);
  raft::Index target = leader_status ? leader_status->commit_index : 0;
  bool caught_up = false;
  raft::Index applied = 0;
  while (ms_since(restart_time) < 20000) {
    if (auto s = status(own); s && s->applied_index >= target) {
      caught_up = true;
      applied = s->applied_index;
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  fmt::print("   {} applied index {} (leader's commit was {}) {} ms after restart\n", old_leader,
             applied, target, ms_since(restart_time));
  checks.push_back({"the restarted member catches up", caught_up});
  figures.push_back({"restart to caught up", fmt::format("{} ms", ms_since(restart_time))});

  // Summary.
  bool all = true;
  fmt::print("\n== summary\n");
  fmt::print("   {:<52} {}\n", "check", "result");
  for (auto& c : checks) {
    fmt::print("   {:<52} {}\n", c.what, c.ok ? "ok" : "FAILED");
    all &= c.ok;
  }
  for (auto& [what, v] : figures)
    fmt::print("   {:<52} {}\n", what, v);
  clients.clear();
  for (size_t i = 0; i < cluster.members().size(); ++i)
    cluster.stop(i);
  fmt::print("   all member processes stopped\n");
  if (!o.keep)
    fs::remove_all(dir);
  else
    fmt::print("   logs kept in {}\n", dir);
  return all ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto o = std::make_shared<DemoOptions>();
  auto* cmd = app.add_subcommand("demo", "Run the demo: a 3-member Raft cluster on 127.0.0.1");
  cmd->add_option("--base-port", o->base_port, "first TCP port of the members")
      ->capture_default_str();
  cmd->add_option("--client-port", o->client_port, "first client port")->capture_default_str();
  cmd->add_option("--increments", o->increments, "increments per member in the first phase")
      ->capture_default_str();
  cmd->add_flag("--keep", o->keep, "keep the temporary folder with logs");
  cmd->callback([o] { std::exit(run_demo(*o)); });
}

}  // namespace cohort::tools
