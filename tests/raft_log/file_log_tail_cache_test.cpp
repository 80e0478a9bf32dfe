// The file log's tail cache (tail_cache.hpp): the newest entries are read from memory, exactly as
// the segments would return them (batch limits included); truncation, compaction and eviction
// keep it consistent, and anything older than it is read from the files.
#include <doctest/doctest.h>

#include "protocols/raft/log/file_log_store.hpp"
#include "tests/raft_log/file_log_test_util.hpp"

using namespace cohort::raft;
using cohort::raft::test::entry_ok;
using cohort::raft::test::make_entries;
using cohort::raft::test::TempDir;

namespace {

// The same read from the cache and from a store without one must agree entry by entry.
void check_same(const std::vector<Entry>& a, const std::vector<Entry>& b) {
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].index == b[i].index);
    CHECK(a[i].term == b[i].term);
    CHECK(a[i].type == b[i].type);
    CHECK(a[i].data.view() == b[i].data.view());
  }
}

}  // namespace

TEST_CASE("file log tail cache: the newest entries are read from memory as the files hold them") {
  TempDir cached_dir, plain_dir;
  FileLogStore cached(cached_dir.path());
  FileLogStore plain(plain_dir.path(), FileLogOptions{.tail_cache_bytes = 0});
  for (Index i = 1; i <= 200; i += 10) {
    cached.append(make_entries(i, i + 9, 1));
    plain.append(make_entries(i, i + 9, 1));
  }
  for (auto [from, to, max] : {std::tuple<Index, Index, size_t>{1, 200, SIZE_MAX},
                               {150, 200, SIZE_MAX},
                               {150, 160, SIZE_MAX},
                               {100, 200, 1000},  // a byte limit cuts the batch short
                               {200, 200, 0},     // the first entry is always returned
                               {201, 300, SIZE_MAX}}) {
    INFO("entries(" << from << ", " << to << ", " << max << ")");
    check_same(cached.entries(from, to, max), plain.entries(from, to, max));
  }
  CHECK(cached.file_reads() == 0);
  CHECK(cached.cached_reads() == 6);
  CHECK(plain.cached_reads() == 0);
  for (const Entry& e : cached.entries(1, 200, SIZE_MAX))
    CHECK(entry_ok(e, e.index, 1));
}

TEST_CASE("file log tail cache: a truncation and a new term replace the cached suffix") {
  TempDir dir;
  FileLogStore s(dir.path());
  s.append(make_entries(1, 50, 1));
  s.append(make_entries(31, 40, 2));  // conflicts from 31 on: 41..50 are gone
  REQUIRE(s.last_index() == 40);
  auto got = s.entries(25, 100, SIZE_MAX);
  REQUIRE(got.size() == 16);
  for (const Entry& e : got)
    CHECK(entry_ok(e, e.index, e.index <= 30 ? 1 : 2));
  CHECK(s.file_reads() == 0);
}

TEST_CASE("file log tail cache: older entries than the cache holds are read from the files") {
  TempDir dir;
  // 300-byte entries at most: a 4 KiB cache holds the newest dozen or so.
  FileLogStore s(dir.path(), FileLogOptions{.tail_cache_bytes = 4096});
  for (Index i = 1; i <= 100; ++i)
    s.append(make_entries(i, i, 1));
  auto recent = s.entries(99, 100, SIZE_MAX);
  CHECK(s.cached_reads() == 1);
  CHECK(s.file_reads() == 0);
  auto all = s.entries(1, 100, SIZE_MAX);
  CHECK(s.file_reads() == 1);
  REQUIRE(all.size() == 100);
  for (const Entry& e : all)
    CHECK(entry_ok(e, e.index, 1));
  REQUIRE(recent.size() == 2);
  CHECK(entry_ok(recent[1], 100, 1));
}

TEST_CASE("file log tail cache: a snapshot drops the compacted entries from it") {
  TempDir dir;
  FileLogStore s(dir.path());
  s.append(make_entries(1, 60, 1));
  SnapshotMeta kept{40, 1, {}};
  s.save_snapshot(kept, cohort::Buffer::copy_of("state at 40"));
  CHECK(s.first_index() == 41);
  auto got = s.entries(41, 60, SIZE_MAX);
  REQUIRE(got.size() == 20);
  CHECK(entry_ok(got.front(), 41, 1));
  CHECK(s.file_reads() == 0);
  // A snapshot past the log (installed from a leader) empties it: new appends start a new run.
  SnapshotMeta ahead{80, 3, {}};
  s.save_snapshot(ahead, cohort::Buffer::copy_of("state at 80"));
  s.append(make_entries(81, 90, 3));
  got = s.entries(81, 90, SIZE_MAX);
  REQUIRE(got.size() == 10);
  for (const Entry& e : got)
    CHECK(entry_ok(e, e.index, 3));
  CHECK(s.file_reads() == 0);
}
