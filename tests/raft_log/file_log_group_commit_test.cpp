// Group commit in the file log store (issue 5): append() never flushes; one sync() flushes each
// touched segment once, however many appends it covers; appends made while a sync runs on the
// writer thread are covered by the next sync. Counted with FileLogStore::segment_syncs().
#include <doctest/doctest.h>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "protocols/raft/log/file_log_store.hpp"
#include "tests/raft_log/file_log_test_util.hpp"

using namespace cohort::raft;
using cohort::raft::test::entry_ok;
using cohort::raft::test::make_entries;
using cohort::raft::test::TempDir;

TEST_CASE("file log group commit: one fdatasync makes a thousand single-entry appends durable") {
  TempDir dir;
  FileLogStore s(dir.path());
  const uint64_t base = s.segment_syncs();
  for (Index i = 1; i <= 1000; ++i)
    s.append(make_entries(i, i, 1));
  CHECK(s.segment_syncs() == base);  // appends only write into the page cache
  CHECK(s.durable_index() == 0);
  CHECK(s.sync() == 1000);
  CHECK(s.segment_syncs() == base + 1);
  CHECK(s.durable_index() == 1000);
  CHECK(s.sync() == 1000);  // nothing new: no flush at all
  CHECK(s.segment_syncs() == base + 1);
}

TEST_CASE("file log group commit: appends made while the writer thread syncs join the next sync") {
  // The writer thread runs one sync() at a time on request, as REPLICATION offloads it; the loop
  // thread keeps appending single entries (one per proposal) while each sync is in flight.
  TempDir dir;
  FileLogStore s(dir.path());
  std::mutex mu;
  std::condition_variable cv;
  bool requested = false, completed = false, stop = false;
  Index result = 0;
  std::string error;
  std::thread writer([&] {
    std::unique_lock lock(mu);
    for (;;) {
      cv.wait(lock, [&] { return requested || stop; });
      if (stop) return;
      requested = false;
      lock.unlock();
      Index durable = 0;
      try {
        durable = s.sync();
      } catch (const std::exception& e) {
        durable = 0;
        lock.lock();
        error = e.what();
        lock.unlock();
      }
      lock.lock();
      result = durable;
      completed = true;
      cv.notify_all();
    }
  });

  const uint64_t base = s.segment_syncs();
  const int rounds = 40, per_round = 50;
  Index next = 1;
  int sync_calls = 0;
  for (int r = 0; r < rounds; ++r) {
    const Index before = s.last_index();
    {
      std::lock_guard lock(mu);
      requested = true;
      cv.notify_all();
    }
    ++sync_calls;
    for (int k = 0; k < per_round; ++k, ++next)
      s.append(make_entries(next, next, 1));
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return completed; });
    completed = false;
    // The sync covers at least what was appended before it was requested, and never more than
    // was appended by the time it finished.
    CHECK(result >= before);
    CHECK(result <= next - 1);
  }
  {
    std::lock_guard lock(mu);
    stop = true;
    cv.notify_all();
  }
  writer.join();
  CHECK(error.empty());
  // The last round's appends: one more sync covers them all.
  CHECK(s.sync() == next - 1);
  ++sync_calls;
  const uint64_t appends = uint64_t(rounds) * per_round;
  const uint64_t fsyncs = s.segment_syncs() - base;
  INFO(appends << " appends, " << sync_calls << " syncs, " << fsyncs << " fdatasyncs");
  CHECK(fsyncs >= 1);
  CHECK(fsyncs <= uint64_t(sync_calls));  // one segment: at most one fdatasync per sync()
  CHECK(fsyncs * 40 <= appends);
  auto got = s.entries(1, next - 1, SIZE_MAX);
  REQUIRE(got.size() == appends);
  for (Index i = 1; i < next; ++i)
    REQUIRE(entry_ok(got[i - 1], i, 1));
}

TEST_CASE("file log group commit: a sync spanning segments flushes each touched segment once") {
  TempDir dir;
  FileLogStore s(dir.path(), {.segment_bytes = 8192});
  const uint64_t base = s.segment_syncs();
  for (Index i = 1; i <= 600; ++i)
    s.append(make_entries(i, i, 1));
  const size_t segments = s.segment_count();
  REQUIRE(segments >= 3);
  // Starting a segment flushes the full one before it (recovery relies on that): one each.
  const uint64_t rolls = s.segment_syncs() - base;
  CHECK(rolls == segments - 1);
  CHECK(s.sync() == 600);
  // Then the sync flushes every segment touched since the previous sync once (the rolled ones
  // are clean by then, so those flushes are cheap): never once per append.
  const uint64_t total = s.segment_syncs() - base;
  CHECK(total >= rolls + 1);
  CHECK(total <= rolls + segments);
  CHECK(total * 20 <= 600);
}
