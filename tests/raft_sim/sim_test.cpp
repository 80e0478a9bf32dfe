// The seeded whole-cluster simulation (DESIGN §8). The default run covers 3,000 seeds split in
// several test cases (CTest runs them in parallel). COHORT_SIM_SEEDS=N runs N seeds per case;
// COHORT_SIM_SEED=S replays one seed (3 and 5 voters) with its failure message.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "raft_sim/sim.hpp"

using namespace cohort::raft::sim;

namespace {

// A core assertion aborts the process: name the seed before dying.
volatile uint64_t g_current_seed = 0;
void (*g_previous_abort_handler)(int) = SIG_DFL;
extern "C" void on_abort(int sig) {
  char buf[200];
  auto seed = static_cast<unsigned long long>(g_current_seed);
  int n = std::snprintf(buf, sizeof buf,
                        "\nraft simulation aborted at seed %llu; replay with: "
                        "COHORT_SIM_SEED=%llu test_raft_sim\n",
                        seed, seed);
  if (n > 0) [[maybe_unused]]
    auto w = write(2, buf, static_cast<size_t>(n));
  std::signal(sig, g_previous_abort_handler);
  std::raise(sig);
}
struct AbortReporter {
  AbortReporter() { g_previous_abort_handler = std::signal(SIGABRT, on_abort); }
  ~AbortReporter() { std::signal(SIGABRT, g_previous_abort_handler); }
};

uint64_t env_u64(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

void run_seeds(int voters, uint64_t first, uint64_t default_count) {
  AbortReporter reporter;
  SimOptions o;
  o.voters = voters;
  if (const char* one = std::getenv("COHORT_SIM_SEED"); one && *one) {
    if (first != 0) return;  // only the first case of each size replays
    uint64_t seed = std::strtoull(one, nullptr, 10);
    g_current_seed = seed;
    SimResult r;
    CHECK_NOTHROW(r = Simulation(seed, o).run());
    std::cout << "seed " << seed << " voters " << voters << ": events " << r.events << " committed "
              << r.commits << " elections " << r.elections << " crashes " << r.crashes
              << " snapshots " << r.snapshots_installed << " config changes " << r.config_changes
              << " trace " << std::hex << r.trace_hash << std::dec << "\n";
    return;
  }
  uint64_t count = env_u64("COHORT_SIM_SEEDS", default_count);
  uint64_t base = first * count / default_count;  // disjoint ranges when count changes
  SimResult total;
  auto t0 = std::chrono::steady_clock::now();
  for (uint64_t seed = base; seed < base + count; ++seed) {
    uint64_t s = seed * 10 + static_cast<uint64_t>(voters);  // distinct seeds per size
    g_current_seed = s;
    try {
      SimResult r = Simulation(s, o).run();
      total.events += r.events;
      total.elections += r.elections;
      total.crashes += r.crashes;
      total.snapshots_installed += r.snapshots_installed;
      total.config_changes += r.config_changes;
      total.commits += r.commits;
    } catch (const SimFailure& e) {
      FAIL(std::string(e.what()));
    }
  }
  auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
          .count();
  MESSAGE(count << " seeds (" << voters << " voters) in " << ms << " ms: events " << total.events
                << ", elections " << total.elections << ", crashes " << total.crashes
                << ", snapshots installed " << total.snapshots_installed << ", config changes "
                << total.config_changes << ", committed " << total.commits);
}

}  // namespace

// 6 cases x 500 seeds = 3,000 seeds by default.
TEST_CASE("sim: 3 voters seed block 0") {
  run_seeds(3, 0, 500);
}
TEST_CASE("sim: 3 voters seed block 1") {
  run_seeds(3, 500, 500);
}
TEST_CASE("sim: 3 voters seed block 2") {
  run_seeds(3, 1000, 500);
}
TEST_CASE("sim: 5 voters seed block 0") {
  run_seeds(5, 0, 500);
}
TEST_CASE("sim: 5 voters seed block 1") {
  run_seeds(5, 500, 500);
}
TEST_CASE("sim: 5 voters seed block 2") {
  run_seeds(5, 1000, 500);
}

TEST_CASE("sim: same seed gives the same trace") {
  for (uint64_t seed : {1ull, 42ull, 977ull}) {
    SimOptions o;
    o.voters = seed % 2 ? 3 : 5;
    SimResult a = Simulation(seed, o).run();
    SimResult b = Simulation(seed, o).run();
    CHECK(a.trace_hash == b.trace_hash);
    CHECK(a.events == b.events);
    SimResult c = Simulation(seed + 1, o).run();
    CHECK(a.trace_hash != c.trace_hash);
  }
}
