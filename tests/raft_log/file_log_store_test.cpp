// FileLogStore: the LogStore contract on disk — round trips, reopen, segments, conflict
// truncation, snapshots and compaction, term/vote, the directory lock, errors and limits.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/resource.h>

#include <filesystem>

#include "protocols/raft/log/crc32c.hpp"
#include "protocols/raft/log/file_log_store.hpp"
#include "protocols/raft/log/memory_log_store.hpp"
#include "tests/raft_log/file_log_test_util.hpp"

using namespace cohort;
using namespace cohort::raft;
using cohort::raft::test::TempDir;
using test::entry_ok;
using test::make_entries;

namespace {

constexpr FileLogOptions small_segments{.segment_bytes = 4096};

void check_range(const LogStore& s, Index from, Index to, Term t) {
  auto got = s.entries(from, to, SIZE_MAX);
  REQUIRE(got.size() == to - from + 1);
  for (Index i = from; i <= to; ++i)
    REQUIRE(entry_ok(got[i - from], i, t));
}

}  // namespace

TEST_CASE("file log: crc32c matches the Castagnoli check value and extends incrementally") {
  const std::string_view check = "123456789";
  auto bytes = std::span(reinterpret_cast<const uint8_t*>(check.data()), check.size());
  CHECK(crc32c(bytes) == 0xE3069283u);
  CHECK(crc32c(bytes.subspan(4), crc32c(bytes.first(4))) == 0xE3069283u);
  CHECK(crc32c({}) == 0u);
  std::vector<uint8_t> zeros(32, 0);
  CHECK(crc32c(zeros) == 0x8A9136AAu);  // RFC 3720 B.4 test vector
}

TEST_CASE("file log: segment file names round-trip and reject strangers") {
  CHECK(segment::file_name(1) == "00000000000000000001.log");
  CHECK(segment::parse_file_name(segment::file_name(123456789)) == Index{123456789});
  CHECK_FALSE(segment::parse_file_name("meta"));
  CHECK_FALSE(segment::parse_file_name("0000000000000000000x.log"));
  CHECK_FALSE(segment::parse_file_name("00000000000000000001.log.tmp"));
}

TEST_CASE("file log: a new store is empty") {
  TempDir dir;
  FileLogStore s(dir.path());
  CHECK(s.first_index() == 1);
  CHECK(s.last_index() == 0);
  CHECK(s.term_at(0) == 0);
  CHECK(s.durable_index() == 0);
  CHECK(s.sync() == 0);
  CHECK(s.log_bytes() == 0);
  CHECK(s.hard_state() == HardState{});
  CHECK_FALSE(s.load_snapshot());
  CHECK(s.snapshot_meta().last_index == 0);
  CHECK(s.entries(1, 10, SIZE_MAX).empty());
  CHECK(s.recovery_report().empty());
}

TEST_CASE("file log: append, read back, sync, reopen") {
  TempDir dir;
  {
    FileLogStore s(dir.path());
    auto batch = make_entries(1, 100, 3);
    s.append(batch);
    CHECK(s.last_index() == 100);
    CHECK(s.durable_index() == 0);  // appended, not yet synced
    check_range(s, 1, 100, 3);
    CHECK(s.term_at(50) == 3);
    CHECK(s.log_bytes() > 100 * segment::record_header_bytes);
    CHECK(s.sync() == 100);
    CHECK(s.durable_index() == 100);
    s.append(make_entries(101, 120, 4));
    CHECK(s.sync() == 120);
  }
  FileLogStore s(dir.path());
  CHECK(s.recovery_report().empty());
  CHECK(s.first_index() == 1);
  CHECK(s.last_index() == 120);
  CHECK(s.durable_index() == 120);
  check_range(s, 1, 100, 3);
  check_range(s, 101, 120, 4);
  CHECK(s.term_at(120) == 4);
}

TEST_CASE("file log: entries honours max_bytes but returns at least one entry") {
  TempDir dir;
  FileLogStore s(dir.path());
  s.append(make_entries(1, 50, 1));
  CHECK(s.entries(10, 50, 0).size() == 1);
  CHECK(s.entries(10, 9, SIZE_MAX).empty());
  CHECK(s.entries(45, 1000, SIZE_MAX).size() == 6);  // `to` beyond the end is clamped
  auto all = s.entries(1, 50, SIZE_MAX);
  size_t budget = all[0].data.size() + all[1].data.size() + all[2].data.size();
  auto some = s.entries(1, 50, budget);
  REQUIRE(some.size() == 3);
  CHECK(entry_ok(some[2], 3, 1));
  CHECK_THROWS_AS(s.entries(0, 5, SIZE_MAX), std::logic_error);
}

TEST_CASE("file log: entries span many segments and survive reopen") {
  TempDir dir;
  {
    FileLogStore s(dir.path(), small_segments);
    for (Index i = 1; i <= 400; i += 20)
      s.append(make_entries(i, i + 19, 1 + i / 100));
    CHECK(s.segment_count() > 10);
    s.sync();
  }
  FileLogStore s(dir.path(), small_segments);
  CHECK(s.segment_count() > 10);
  CHECK(s.last_index() == 400);
  auto got = s.entries(1, 400, SIZE_MAX);
  REQUIRE(got.size() == 400);
  for (Index i = 1; i <= 400; ++i) {
    const Index first_of_batch = (i - 1) / 20 * 20 + 1;
    REQUIRE(entry_ok(got[i - 1], i, 1 + first_of_batch / 100));
  }
  for (const auto& path : test::segment_files(dir.path())) {
    // A segment only exceeds its size to hold a single oversize record.
    CHECK(std::filesystem::file_size(path) <= 4096);
  }
}

TEST_CASE("file log: an entry larger than a segment gets a segment of its own") {
  TempDir dir;
  FileLogStore s(dir.path(), small_segments);
  s.append(make_entries(1, 3, 1));
  Entry big;
  big.index = 4;
  big.term = 1;
  big.data = Buffer::copy_of(std::string(10000, 'x'));
  s.append(std::span(&big, 1));
  s.append(make_entries(5, 6, 1));
  s.sync();
  CHECK(s.segment_count() == 3);
  CHECK(s.entries(4, 4, 0)[0].data == big.data);
}

TEST_CASE("file log: term and vote are kept in the meta file") {
  TempDir dir;
  {
    FileLogStore s(dir.path());
    s.save_hard_state({7, "B"});
    CHECK(s.hard_state() == HardState{7, "B"});
    s.save_hard_state({8, ""});
  }
  FileLogStore s(dir.path());
  CHECK(s.hard_state() == HardState{8, ""});
  CHECK_FALSE(std::filesystem::exists(dir / "meta.tmp"));
}

TEST_CASE("file log: appending at or below last_index truncates the conflicting suffix") {
  TempDir dir;
  {
    FileLogStore s(dir.path());
    s.append(make_entries(1, 50, 1));
    s.sync();
    s.append(make_entries(30, 40, 2));
    CHECK(s.last_index() == 40);
    CHECK(s.durable_index() == 29);  // the durable suffix was replaced
    CHECK(s.term_at(29) == 1);
    CHECK(s.term_at(30) == 2);
    check_range(s, 1, 29, 1);
    check_range(s, 30, 40, 2);
    CHECK(s.sync() == 40);
  }
  FileLogStore s(dir.path());
  CHECK(s.recovery_report().empty());
  CHECK(s.last_index() == 40);
  check_range(s, 1, 29, 1);
  check_range(s, 30, 40, 2);
}

TEST_CASE("file log: truncation deletes later segments and cuts the one it falls in") {
  TempDir dir;
  {
    FileLogStore s(dir.path(), small_segments);
    s.append(make_entries(1, 300, 1));
    s.sync();
    const size_t before = s.segment_count();
    REQUIRE(before > 5);
    s.append(make_entries(20, 25, 2));
    CHECK(s.segment_count() < before);
    CHECK(test::segment_files(dir.path()).size() == s.segment_count());
    CHECK(s.last_index() == 25);
    s.sync();
    // Truncating exactly at a segment's first index removes that whole segment.
    const Index seg2 = *segment::parse_file_name(
        std::filesystem::path(test::segment_files(dir.path()).at(1)).filename().string());
    s.append(make_entries(seg2, seg2, 3));
    CHECK(s.last_index() == seg2);
    CHECK(s.term_at(seg2) == 3);
    s.sync();
  }
  FileLogStore s(dir.path(), small_segments);
  CHECK(s.recovery_report().empty());
  CHECK(s.term_at(s.last_index()) == 3);
  CHECK(s.term_at(19) == 1);
}

TEST_CASE("file log: truncating everything and appending anew") {
  TempDir dir;
  FileLogStore s(dir.path(), small_segments);
  s.append(make_entries(1, 100, 1));
  s.append(make_entries(1, 5, 2));
  CHECK(s.last_index() == 5);
  check_range(s, 1, 5, 2);
  CHECK(s.log_bytes() == [&] {
    uint64_t sum = 0;
    for (auto& e : s.entries(1, 5, SIZE_MAX))
      sum += segment::record_header_bytes + e.data.size();
    return sum;
  }());
}

TEST_CASE("file log: append rejects broken preconditions and changes nothing") {
  TempDir dir;
  FileLogStore s(dir.path());
  s.append(make_entries(1, 10, 5));
  const uint64_t bytes = s.log_bytes();
  CHECK_THROWS_AS(s.append(make_entries(12, 13, 5)), std::logic_error);  // gap
  auto not_consecutive = make_entries(11, 13, 5);
  not_consecutive[1].index = 20;
  CHECK_THROWS_AS(s.append(not_consecutive), std::logic_error);
  CHECK_THROWS_AS(s.append(make_entries(11, 12, 4)), std::logic_error);  // term goes down
  CHECK(s.last_index() == 10);
  CHECK(s.log_bytes() == bytes);
  check_range(s, 1, 10, 5);
  s.append(std::span<const Entry>{});  // no-op
  CHECK(s.last_index() == 10);
}

TEST_CASE("file log: snapshot compacts whole segments and keeps later entries") {
  TempDir dir;
  const Buffer config = Buffer::copy_of("A,B,C");
  const Buffer data = Buffer::copy_of(std::string(5000, 's'));
  size_t segments_before = 0;
  {
    FileLogStore s(dir.path(), small_segments);
    s.append(make_entries(1, 300, 2));
    s.sync();
    segments_before = s.segment_count();
    const uint64_t bytes_before = s.log_bytes();
    s.save_snapshot({200, 2, config}, data);
    CHECK(s.first_index() == 201);
    CHECK(s.last_index() == 300);
    CHECK(s.term_at(200) == 2);
    CHECK(s.segment_count() < segments_before);
    CHECK(s.log_bytes() < bytes_before);
    check_range(s, 201, 300, 2);
    CHECK_THROWS_AS(s.entries(200, 201, SIZE_MAX), std::logic_error);
    auto snap = s.load_snapshot();
    REQUIRE(snap);
    CHECK(snap->first.last_index == 200);
    CHECK(snap->first.last_term == 2);
    CHECK(snap->first.config == config);
    CHECK(snap->second == data);
    s.append(make_entries(301, 310, 3));
    s.sync();
  }
  FileLogStore s(dir.path(), small_segments);
  CHECK(s.recovery_report().empty());
  CHECK(s.first_index() == 201);
  CHECK(s.last_index() == 310);
  CHECK(s.durable_index() == 310);
  CHECK(s.term_at(200) == 2);
  check_range(s, 201, 300, 2);
  check_range(s, 301, 310, 3);
  CHECK(s.snapshot_meta().config == config);
  CHECK(s.load_snapshot()->second == data);
  CHECK(s.segment_count() < segments_before);
}

TEST_CASE("file log: a snapshot past the log or with another term replaces the whole log") {
  TempDir dir;
  {
    FileLogStore s(dir.path(), small_segments);
    s.append(make_entries(1, 100, 1));
    s.sync();
    s.save_snapshot({80, 9, {}}, Buffer::copy_of("x"));  // term differs at 80: log discarded
    CHECK(s.first_index() == 81);
    CHECK(s.last_index() == 80);
    CHECK(s.term_at(80) == 9);
    CHECK(s.durable_index() == 80);
    CHECK(s.segment_count() == 0);
    CHECK(s.log_bytes() == 0);
    s.save_snapshot({500, 9, {}}, Buffer::copy_of("y"));  // beyond the log
    CHECK(s.first_index() == 501);
    CHECK(s.last_index() == 500);
    s.append(make_entries(501, 510, 9));
    s.sync();
  }
  FileLogStore s(dir.path(), small_segments);
  CHECK(s.first_index() == 501);
  CHECK(s.last_index() == 510);
  CHECK(s.load_snapshot()->second.view() == "y");
  check_range(s, 501, 510, 9);
  // Truncating back to the first entry after the snapshot still works.
  s.append(make_entries(501, 502, 10));
  CHECK(s.last_index() == 502);
  CHECK(s.term_at(500) == 9);
}

TEST_CASE("file log: a crash between snapshot and compaction is finished on open") {
  TempDir dir;
  {
    FileLogStore s(dir.path(), small_segments);
    s.append(make_entries(1, 300, 1));
    s.sync();
  }
  // Put a snapshot in place the way save_snapshot does first, and "crash" before compacting.
  auto copy_snapshot_into = [&](const SnapshotMeta& meta) {
    TempDir other;
    {
      FileLogStore o(other.path());
      o.save_snapshot(meta, Buffer::copy_of("state"));
    }
    std::filesystem::copy_file(other / "snapshot", dir / "snapshot",
                               std::filesystem::copy_options::overwrite_existing);
  };
  copy_snapshot_into({150, 1, {}});
  {
    FileLogStore s(dir.path(), small_segments);
    CHECK(s.recovery_report().find("covered by the snapshot") != std::string::npos);
    CHECK(s.first_index() == 151);
    CHECK(s.last_index() == 300);
    check_range(s, 151, 300, 1);
  }
  copy_snapshot_into({200, 4, {}});  // a term the log disagrees with: the log is stale
  FileLogStore s(dir.path(), small_segments);
  CHECK(s.recovery_report().find("replaced by the snapshot") != std::string::npos);
  CHECK(s.first_index() == 201);
  CHECK(s.last_index() == 200);
  CHECK(test::segment_files(dir.path()).empty());
}

TEST_CASE("file log: a second store on the same directory is refused while the first lives") {
  TempDir dir;
  {
    FileLogStore first(dir.path());
    try {
      FileLogStore second(dir.path());
      FAIL("second store opened a locked directory");
    } catch (const StoreError& e) {
      const std::string what = e.what();
      CHECK(what.find("in use by another store") != std::string::npos);
      CHECK(what.find(dir.path()) != std::string::npos);
      CHECK(what.find("pid " + std::to_string(::getpid())) != std::string::npos);
    }
  }
  FileLogStore again(dir.path());  // the lock went with the first store
}

TEST_CASE("file log: make_log_store picks the store by name and names unknown kinds") {
  TempDir dir;
  CHECK(dynamic_cast<MemoryLogStore*>(make_log_store("memory", "").get()) != nullptr);
  CHECK_THROWS_AS(make_log_store("file", ""), StoreError);
  auto s = make_log_store("file", dir.path());
  REQUIRE(dynamic_cast<FileLogStore*>(s.get()) != nullptr);
  s->append(make_entries(1, 3, 1));
  CHECK(s->sync() == 3);
  try {
    make_log_store("rocks", dir.path());
    FAIL("unknown kind accepted");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find("\"rocks\"") != std::string::npos);
  }
}

namespace {

/// Runs f with writes beyond `max_file_bytes` failing as on a full disk. RLIMIT_FSIZE makes the
/// kernel refuse them with EFBIG, a full disk we can summon without root; SIGXFSZ is ignored so
/// the write fails instead of killing us. Returns the StoreError message ("" if none).
template <typename F>
std::string with_file_size_limit(uint64_t max_file_bytes, F f) {
  struct sigaction ignore = {};
  struct sigaction old_action = {};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGXFSZ, &ignore, &old_action) == 0);
  rlimit old_limit{};
  REQUIRE(::getrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  rlimit limit = old_limit;
  limit.rlim_cur = max_file_bytes;
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &limit) == 0);
  std::string error;
  try {
    f();
  } catch (const StoreError& e) {
    error = e.what();
  }
  REQUIRE(::setrlimit(RLIMIT_FSIZE, &old_limit) == 0);
  REQUIRE(::sigaction(SIGXFSZ, &old_action, nullptr) == 0);
  return error;
}

}  // namespace

TEST_CASE("file log: a full disk fails the append with errno and file, and changes nothing") {
  TempDir dir;
  FileLogStore s(dir.path());
  s.append(make_entries(1, 20, 1));
  s.sync();
  const uint64_t bytes = s.log_bytes();
  const auto segment = test::segment_files(dir.path()).at(0);
  const auto size = std::filesystem::file_size(segment);
  // Room for a few records, not for the whole batch.
  const std::string error =
      with_file_size_limit(size + 1000, [&] { s.append(make_entries(21, 60, 1)); });

  CHECK(error.find("File too large") != std::string::npos);
  CHECK(error.find(segment) != std::string::npos);
  CHECK(s.last_index() == 20);
  CHECK(s.log_bytes() == bytes);
  CHECK(std::filesystem::file_size(segment) == size);
  check_range(s, 1, 20, 1);
  // Still usable once there is room again.
  s.append(make_entries(21, 60, 1));
  CHECK(s.sync() == 60);
  check_range(s, 1, 60, 1);
}

TEST_CASE("file log: an unusable directory is a StoreError naming it") {
  TempDir dir;
  test::write_file(dir / "file", {1, 2, 3});
  try {
    FileLogStore s(dir / "file");
    FAIL("opened a log inside a regular file");
  } catch (const StoreError& e) {
    CHECK(std::string(e.what()).find(dir / "file") != std::string::npos);
  }
}

TEST_CASE("file log: a full disk in the middle of a segment roll is undone too") {
  bool failed_in_new_segment = false;
  for (uint64_t limit : {600, 2500, 3800, 3900, 4000}) {
    CAPTURE(limit);
    TempDir dir;
    FileLogStore s(dir.path(), small_segments);
    s.append(make_entries(1, 25, 1));
    s.sync();
    const auto files = test::segment_files(dir.path());
    const uint64_t bytes = s.log_bytes();
    const std::string error =
        with_file_size_limit(limit, [&] { s.append(make_entries(26, 400, 1)); });
    CHECK(error.find("File too large") != std::string::npos);
    failed_in_new_segment |= error.find(files.back()) == std::string::npos;
    CHECK(s.last_index() == 25);
    CHECK(s.log_bytes() == bytes);
    CHECK(test::segment_files(dir.path()) == files);
    check_range(s, 1, 25, 1);
    s.append(make_entries(26, 400, 1));
    CHECK(s.sync() == 400);
  }
  CHECK(failed_in_new_segment);
}
