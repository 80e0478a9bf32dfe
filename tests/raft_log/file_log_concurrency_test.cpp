// FileLogStore under its threading contract: sync() on a writer thread while the loop thread
// appends, reads and truncates; plus the group-commit benchmark (COHORT_LOG_BENCH=1).
#include <doctest/doctest.h>
#include <fmt/core.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <random>
#include <thread>

#include "protocols/raft/log/file_log_store.hpp"
#include "tests/raft_log/file_log_test_util.hpp"

using namespace cohort;
using namespace cohort::raft;
using cohort::raft::test::TempDir;
using test::entry_ok;
using test::make_entries;

TEST_CASE("file log: sync on another thread while the loop thread appends and reads") {
  TempDir dir;
  FileLogStore s(dir.path(), {.segment_bytes = 32768});
  std::atomic<bool> done{false};
  std::atomic<uint64_t> syncs{0};
  std::string sync_error;
  std::thread writer([&] {
    try {
      Index previous = 0;
      while (!done.load()) {
        const Index durable = s.sync();
        // Append-only here: the durable index never goes backwards and never passes the log.
        if (durable < previous || durable > s.last_index()) {
          sync_error = fmt::format("durable {} after {}", durable, previous);
          return;
        }
        previous = durable;
        syncs.fetch_add(1);
      }
    } catch (const std::exception& e) {
      sync_error = e.what();
    }
  });
  std::mt19937_64 rng(42);
  Index next = 1;
  while (next < 20000) {
    const Index n = 1 + rng() % 40;
    s.append(make_entries(next, next + n - 1, 1));
    next += n;
    const Index from = 1 + rng() % (next - 1);
    auto got = s.entries(from, from + 5, SIZE_MAX);
    REQUIRE(!got.empty());
    REQUIRE(entry_ok(got[0], from, 1));
    REQUIRE(s.term_at(from) == 1);
  }
  done = true;
  writer.join();
  CHECK(sync_error.empty());
  CHECK(syncs.load() > 0);
  CHECK(s.sync() == s.last_index());
  MESSAGE(fmt::format("{} entries, {} concurrent syncs", s.last_index(), syncs.load()));
}

TEST_CASE("file log: concurrent sync never promises entries a truncation removed") {
  TempDir dir;
  auto store = std::make_unique<FileLogStore>(dir.path(), FileLogOptions{.segment_bytes = 8192});
  FileLogStore& s = *store;
  std::atomic<bool> done{false};
  std::string sync_error;
  std::thread writer([&] {
    try {
      while (!done.load())
        s.sync();
    } catch (const std::exception& e) {
      sync_error = e.what();
    }
  });
  std::mt19937_64 rng(7);
  Term term = 1;
  for (int step = 0; step < 3000; ++step) {
    const Index last = s.last_index();
    if (last > 20 && rng() % 10 == 0) {
      // A leader change: overwrite a suffix with a newer term.
      const Index from = last - rng() % 20;
      ++term;
      s.append(make_entries(from, from + rng() % 5, term));
    } else {
      s.append(make_entries(last + 1, last + 1 + rng() % 8, term));
    }
    const Index durable = s.durable_index();
    REQUIRE(durable <= s.last_index());
  }
  done = true;
  writer.join();
  CHECK(sync_error.empty());
  CHECK(s.sync() == s.last_index());
  // What this process reads and what a reopen reads are the same log.
  auto before = s.entries(1, s.last_index(), SIZE_MAX);
  const HardState hs = s.hard_state();
  store.reset();
  FileLogStore reopened(dir.path(), {.segment_bytes = 8192});
  CHECK(reopened.recovery_report().empty());
  auto after = reopened.entries(1, reopened.last_index(), SIZE_MAX);
  REQUIRE(after.size() == before.size());
  for (size_t k = 0; k < after.size(); ++k) {
    REQUIRE(after[k].term == before[k].term);
    REQUIRE(after[k].data == before[k].data);
  }
  CHECK(reopened.hard_state() == hs);
}

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

std::vector<Entry> bench_entries(Index from, size_t n) {
  std::vector<Entry> v(n);
  const Buffer data = Buffer::copy_of(std::string(100, 'x'));
  for (size_t k = 0; k < n; ++k)
    v[k] = {1, from + k, EntryType::command, data};
  return v;
}

}  // namespace

// Not part of CTest (skip() keeps it out of the listing); run it with
//   COHORT_LOG_BENCH=1 test_raft_log --no-skip -tc='*benchmark*'
// Figures, not assertions: it prints appends/s and syncs/s for 100-byte entries.
TEST_CASE("file log: benchmark (COHORT_LOG_BENCH=1)" * doctest::skip()) {
  const char* on = std::getenv("COHORT_LOG_BENCH");
  if (!on || std::string(on) != "1") return;
  const double run_s = 2.0;
  for (size_t batch : {1, 16, 256}) {
    // Append + sync in lockstep: each batch waits for its own fdatasync.
    {
      TempDir dir;
      FileLogStore s(dir.path());
      uint64_t appended = 0, syncs = 0;
      const auto t0 = std::chrono::steady_clock::now();
      while (seconds_since(t0) < run_s) {
        s.append(bench_entries(appended + 1, batch));
        appended += batch;
        s.sync();
        ++syncs;
      }
      const double secs = seconds_since(t0);
      fmt::print("batch {:>3}  lockstep   : {:>10.0f} appends/s  {:>8.0f} syncs/s\n", batch,
                 appended / secs, syncs / secs);
    }
    // Group commit: a writer thread syncs in a loop while the loop thread keeps appending.
    {
      TempDir dir;
      FileLogStore s(dir.path());
      std::atomic<bool> done{false};
      std::atomic<uint64_t> syncs{0};
      std::thread writer([&] {
        Index durable = 0;
        while (!done.load()) {
          // Only syncs that flushed something count; an idle one returns at once.
          const Index now = s.sync();
          if (now > durable) {
            syncs.fetch_add(1);
          } else {
            std::this_thread::yield();
          }
          durable = now;
        }
      });
      uint64_t appended = 0;
      const auto t0 = std::chrono::steady_clock::now();
      while (seconds_since(t0) < run_s) {
        s.append(bench_entries(appended + 1, batch));
        appended += batch;
      }
      done = true;
      writer.join();
      const double secs = seconds_since(t0);
      fmt::print("batch {:>3}  group sync : {:>10.0f} appends/s  {:>8.0f} syncs/s\n", batch,
                 appended / secs, syncs.load() / secs);
    }
  }
}
