// FileLogStore with preallocate_bytes: the last segment grows by zeros written ahead of its
// records, full segments are cut back to their records, and recovery takes a zero tail for the
// end of the log while still cutting torn records and refusing damage followed by valid data.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>

#include "protocols/raft/log/file_log_store.hpp"
#include "tests/raft_log/file_log_test_util.hpp"

using namespace cohort;
using namespace cohort::raft;
using cohort::raft::test::TempDir;
using test::entry_ok;
using test::make_entries;

namespace {

constexpr FileLogOptions preallocated{.segment_bytes = 16384, .preallocate_bytes = 4096};

void check_log(const LogStore& s, Index from, Index to, Term t) {
  auto got = s.entries(from, to, SIZE_MAX);
  REQUIRE(got.size() == to - from + 1);
  for (Index i = from; i <= to; ++i)
    REQUIRE(entry_ok(got[i - from], i, t));
}

/// A log of n entries (term 1) over several preallocated segments, closed.
void write_log(const std::string& dir, Index n) {
  FileLogStore s(dir, preallocated);
  for (Index i = 1; i <= n; i += 10)
    s.append(make_entries(i, std::min(n, i + 9), 1));
  s.sync();
}

bool all_zero(const std::vector<uint8_t>& bytes, uint64_t from) {
  return std::all_of(bytes.begin() + static_cast<ptrdiff_t>(from), bytes.end(),
                     [](uint8_t b) { return b == 0; });
}

std::string open_error(const std::string& dir) {
  try {
    FileLogStore s(dir, preallocated);
  } catch (const StoreError& e) {
    return e.what();
  }
  FAIL("corrupt log opened");
  return {};
}

}  // namespace

TEST_CASE("file log preallocation: zeros ahead of the last segment and none behind full ones") {
  TempDir dir;
  write_log(dir.path(), 200);
  const auto segments = test::segment_files(dir.path());
  REQUIRE(segments.size() >= 2);
  for (const std::string& path : segments) {
    CAPTURE(path);
    const auto bytes = test::read_file(path);
    const uint64_t end = test::record_offsets_and_end(path).back();
    if (path != segments.back()) {
      CHECK(bytes.size() == end);  // cut back to its records when the next segment started
    } else {
      CHECK(bytes.size() > end);
      CHECK(bytes.size() <= preallocated.segment_bytes);
      CHECK(all_zero(bytes, end));
    }
  }
  {
    FileLogStore s(dir.path(), preallocated);
    CHECK(s.recovery_report().empty());  // a zero tail is the end of the log, not damage
    CHECK(s.last_index() == 200);
    CHECK(s.durable_index() == 200);
    check_log(s, 1, 200, 1);
    s.append(make_entries(201, 260, 1));
    CHECK(s.sync() == 260);
  }
  FileLogStore s(dir.path(), preallocated);
  CHECK(s.recovery_report().empty());
  check_log(s, 1, 260, 1);
}

TEST_CASE("file log preallocation: a torn record in the zero tail is cut at every byte") {
  TempDir dir;
  write_log(dir.path(), 60);
  const std::string last = test::segment_files(dir.path()).back();
  const auto original = test::read_file(last);
  const auto offsets = test::record_offsets_and_end(last);
  REQUIRE(offsets.size() >= 2);
  const uint64_t last_record = offsets[offsets.size() - 2];
  const uint64_t end = offsets.back();
  REQUIRE(original.size() > end);
  const Index last_index = 60;

  for (uint64_t cut = last_record; cut < end; ++cut) {
    CAPTURE(cut);
    // The write reached the disk only up to `cut`; the rest of the record is still zeros.
    auto torn = original;
    std::fill(torn.begin() + static_cast<ptrdiff_t>(cut), torn.end(), uint8_t{0});
    test::write_file(last, torn);
    {
      FileLogStore s(dir.path(), preallocated);
      CHECK(s.last_index() == last_index - 1);
      if (cut == last_record) {
        CHECK(s.recovery_report().empty());  // nothing of the record landed: a clean end
      } else {
        CHECK(s.recovery_report().find("cut torn tail of " + last) != std::string::npos);
      }
      check_log(s, 1, last_index - 1, 1);
      s.append(make_entries(last_index, last_index, 2));
      CHECK(s.sync() == last_index);
    }
    FileLogStore s(dir.path(), preallocated);
    CHECK(s.recovery_report().empty());
    CHECK(s.term_at(last_index) == 2);
    check_log(s, 1, last_index - 1, 1);
  }
}

TEST_CASE("file log preallocation: zeros are the end only when nothing valid follows") {
  TempDir dir;
  write_log(dir.path(), 200);
  const auto segments = test::segment_files(dir.path());
  REQUIRE(segments.size() >= 2);

  SUBCASE("a zeroed record followed by a valid one in the last segment") {
    const std::string last = segments.back();
    const auto offsets = test::record_offsets(last);
    REQUIRE(offsets.size() >= 3);
    auto bytes = test::read_file(last);
    std::fill(bytes.begin() + static_cast<ptrdiff_t>(offsets[1]),
              bytes.begin() + static_cast<ptrdiff_t>(offsets[2]), uint8_t{0});
    test::write_file(last, bytes);
    const std::string e = open_error(dir.path());
    CHECK(e.find("at offset " + std::to_string(offsets[1])) != std::string::npos);
    CHECK(e.find("followed by a valid record at offset " + std::to_string(offsets[2])) !=
          std::string::npos);
  }
  SUBCASE("a zero tail on a segment that is not the last") {
    const std::string first = segments.front();
    auto bytes = test::read_file(first);
    bytes.resize(bytes.size() + 500, 0);
    test::write_file(first, bytes);
    CHECK(open_error(dir.path()).find("not the last") != std::string::npos);
  }
}

TEST_CASE("file log preallocation: conflict truncation and oversized entries survive a reopen") {
  TempDir dir;
  {
    FileLogStore s(dir.path(), preallocated);
    s.append(make_entries(1, 50, 1));
    s.sync();
    s.append(make_entries(40, 45, 2));  // cuts 40..50 (and the zeros ahead), then appends
    CHECK(s.sync() == 45);
    Entry big{2, 46, EntryType::command, Buffer::copy_of(std::string(20000, 'b'))};
    s.append(std::span<const Entry>(&big, 1));  // larger than a segment: one of its own
    s.append(make_entries(47, 50, 2));
    CHECK(s.sync() == 50);
  }
  FileLogStore s(dir.path(), preallocated);
  CHECK(s.recovery_report().empty());
  CHECK(s.last_index() == 50);
  check_log(s, 1, 39, 1);
  check_log(s, 40, 45, 2);
  auto big = s.entries(46, 46, SIZE_MAX);
  REQUIRE(big.size() == 1);
  CHECK(big[0].data.size() == 20000);
  check_log(s, 47, 50, 2);
}
