// FileLogStore crash recovery: a torn tail is cut off (at every possible byte), corruption in
// the middle is refused with the file and offset, and a writer process killed with SIGKILL at
// random points never loses an acknowledged entry nor gains an invented one.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include <fmt/core.h>

#include "protocols/raft/log/file_log_store.hpp"
#include "tests/raft_log/file_log_test_util.hpp"

using namespace cohort;
using namespace cohort::raft;
using cohort::raft::test::TempDir;
using test::entry_ok;
using test::make_entries;

namespace {

constexpr FileLogOptions small_segments{.segment_bytes = 4096};

/// The StoreError message of opening dir; fails the test if it opens.
std::string open_error(const std::string& dir) {
  try {
    FileLogStore s(dir, small_segments);
  } catch (const StoreError& e) {
    return e.what();
  }
  FAIL("corrupt log opened");
  return {};
}

void check_log(const LogStore& s, Index from, Index to, Term t) {
  auto got = s.entries(from, to, SIZE_MAX);
  REQUIRE(got.size() == to - from + 1);
  for (Index i = from; i <= to; ++i)
    REQUIRE(entry_ok(got[i - from], i, t));
}

/// A log of n entries (term 1) over several segments, closed.
void write_log(const std::string& dir, Index n) {
  FileLogStore s(dir, small_segments);
  for (Index i = 1; i <= n; i += 10)
    s.append(make_entries(i, std::min(n, i + 9), 1));
  s.sync();
}

}  // namespace

TEST_CASE("file log: a torn last record is cut off at every byte it could be torn at") {
  TempDir dir;
  write_log(dir.path(), 60);
  const auto segments = test::segment_files(dir.path());
  REQUIRE(segments.size() > 2);
  const std::string last = segments.back();
  const auto original = test::read_file(last);
  const auto offsets = test::record_offsets(last);
  const uint64_t last_record = offsets.back();
  const Index last_index = 60;

  for (uint64_t cut = last_record; cut < original.size(); ++cut) {
    CAPTURE(cut);
    test::write_file(last, {original.begin(), original.begin() + static_cast<ptrdiff_t>(cut)});
    {
      FileLogStore s(dir.path(), small_segments);
      CHECK(s.last_index() == last_index - 1);
      CHECK(s.durable_index() == last_index - 1);
      if (cut == last_record) {
        CHECK(s.recovery_report().empty());  // ends on a record boundary: nothing torn
      } else {
        CHECK(s.recovery_report().find("cut torn tail of " + last) != std::string::npos);
      }
      check_log(s, 1, last_index - 1, 1);
      // Nothing invented: the next append lands right after the last whole record.
      s.append(make_entries(last_index, last_index, 2));
      CHECK(s.sync() == last_index);
    }
    FileLogStore s(dir.path(), small_segments);
    CHECK(s.recovery_report().empty());
    CHECK(s.term_at(last_index) == 2);
    check_log(s, 1, last_index - 1, 1);
  }
}

TEST_CASE("file log: tail damage that a crash can leave is repaired, not refused") {
  TempDir dir;
  write_log(dir.path(), 60);
  const std::string last = test::segment_files(dir.path()).back();

  SUBCASE("a CRC-failing last record") {
    test::flip_byte(last, test::read_file(last).size() - 3);
    FileLogStore s(dir.path(), small_segments);
    CHECK(s.last_index() == 59);
    CHECK(s.recovery_report().find("CRC mismatch") != std::string::npos);
  }
  SUBCASE("zeros after the last record (size grew, data never landed)") {
    auto bytes = test::read_file(last);
    bytes.resize(bytes.size() + 300, 0);
    test::write_file(last, bytes);
    FileLogStore s(dir.path(), small_segments);
    CHECK(s.last_index() == 60);
    CHECK(s.recovery_report().find("300 bytes dropped") != std::string::npos);
    CHECK(test::read_file(last).size() == bytes.size() - 300);
  }
  SUBCASE("a new last segment whose header never made it") {
    test::write_file(dir / segment::file_name(61), {'C', 'O', 'H'});
    FileLogStore s(dir.path(), small_segments);
    CHECK(s.last_index() == 60);
    CHECK(s.recovery_report().find("torn header") != std::string::npos);
    s.append(make_entries(61, 70, 1));
    CHECK(s.sync() == 70);
  }
  SUBCASE("a leftover .tmp of an atomic replace") {
    test::write_file(dir / "meta.tmp", {1, 2});
    FileLogStore s(dir.path(), small_segments);
    CHECK(s.recovery_report().find("meta.tmp") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir / "meta.tmp"));
  }
}

TEST_CASE("file log: corruption in the middle is refused with file and offset") {
  TempDir dir;
  write_log(dir.path(), 60);
  const auto segments = test::segment_files(dir.path());
  const std::string last = segments.back();
  const auto offsets = test::record_offsets(last);
  REQUIRE(offsets.size() >= 3);

  SUBCASE("a bad record followed by valid ones in the last segment") {
    test::flip_byte(last, offsets[1] + 30);  // inside the data of the second record
    const std::string e = open_error(dir.path());
    CHECK(e.find(last) != std::string::npos);
    CHECK(e.find("at offset " + std::to_string(offsets[1])) != std::string::npos);
    CHECK(e.find("CRC mismatch") != std::string::npos);
    CHECK(e.find("followed by a valid record at offset " + std::to_string(offsets[2])) !=
          std::string::npos);
  }
  SUBCASE("a length field destroyed in the middle") {
    test::flip_byte(last, offsets[0] + 3);  // top byte of the length: points far beyond the end
    const std::string e = open_error(dir.path());
    CHECK(e.find("at offset " + std::to_string(offsets[0])) != std::string::npos);
    CHECK(e.find("followed by a valid record") != std::string::npos);
  }
  SUBCASE("the last record of an earlier segment") {
    const std::string first = segments.front();
    const uint64_t at = test::record_offsets(first).back();
    test::flip_byte(first, at + 30);
    const std::string e = open_error(dir.path());
    CHECK(e.find(first) != std::string::npos);
    CHECK(e.find("at offset " + std::to_string(at)) != std::string::npos);
    CHECK(e.find("not the last") != std::string::npos);
  }
  SUBCASE("an earlier segment cut short") {
    const std::string first = segments.front();
    auto bytes = test::read_file(first);
    REQUIRE(bytes.size() > 10);
    bytes.erase(bytes.end() - 10, bytes.end());
    test::write_file(first, bytes);
    CHECK(open_error(dir.path()).find(first) != std::string::npos);
  }
  SUBCASE("a missing segment leaves a gap") {
    std::filesystem::remove(segments.at(1));
    const std::string e = open_error(dir.path());
    CHECK(e.find("gap in indexes") != std::string::npos);
    CHECK(e.find(segments.at(2)) != std::string::npos);
  }
  SUBCASE("a missing first segment without a snapshot") {
    std::filesystem::remove(segments.at(0));
    CHECK(open_error(dir.path()).find("there is no snapshot") != std::string::npos);
  }
  SUBCASE("a segment whose header names another index") {
    std::filesystem::rename(last, dir / segment::file_name(999));
    CHECK(open_error(dir.path()).find("names first index") != std::string::npos);
  }
  SUBCASE("a damaged meta file") {
    {
      FileLogStore s(dir.path(), small_segments);
      s.save_hard_state({3, "C"});
    }
    test::flip_byte(dir / "meta", 6);
    CHECK(open_error(dir.path()).find(dir / "meta") != std::string::npos);
  }
  SUBCASE("a damaged snapshot file") {
    {
      FileLogStore s(dir.path(), small_segments);
      s.save_snapshot({10, 1, {}}, Buffer::copy_of("snap"));
    }
    test::flip_byte(dir / "snapshot", 30);
    CHECK(open_error(dir.path()).find(dir / "snapshot") != std::string::npos);
  }
}

namespace {

// The kill test's pipe protocol: fixed-size messages, atomic on a pipe (< PIPE_BUF).
struct Ack {
  enum Kind : uint64_t { hard_state = 1, durable = 2, snapshot = 3 };
  uint64_t kind = 0;
  uint64_t value = 0;
};

/// The forked writer: appends and syncs forever in term `term`, reporting each acknowledged
/// (synced) index; now and then compacts behind a snapshot. Never returns.
[[noreturn]] void run_writer(const std::string& dir, const FileLogOptions& options, int ack_fd,
                             Term term, uint64_t seed) {
  try {
    FileLogStore s(dir, options);
    s.save_hard_state({term, "w" + std::to_string(term)});
    auto send = [&](Ack::Kind kind, uint64_t value) {
      Ack a{kind, value};
      if (::write(ack_fd, &a, sizeof a) != sizeof a) ::_exit(3);
    };
    send(Ack::hard_state, term);
    std::mt19937_64 rng(seed);
    for (uint64_t round = 1;; ++round) {
      const Index next = s.last_index() + 1;
      const Index batch = 1 + rng() % 24;
      s.append(make_entries(next, next + batch - 1, term));
      send(Ack::durable, s.sync());
      if (round % 11 == 0 && s.last_index() > s.first_index() + 50) {
        const Index at = s.last_index() - 40;
        s.save_snapshot({at, s.term_at(at), {}}, Buffer::copy_of("snap@" + std::to_string(at)));
        send(Ack::snapshot, at);
      }
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "writer failed: %s\n", e.what());
    ::_exit(2);
  }
}

/// Forks writers in `options`, SIGKILLs each at a random moment and checks the reopened log.
void check_killed_writers(const FileLogOptions& options) {
  TempDir dir;
  std::mt19937_64 rng(std::random_device{}());
  const uint64_t seed = rng();
  CAPTURE(seed);
  rng.seed(seed);
  std::map<Index, Term> term_of;  // every entry any writer appended that later reopens kept
  Index acked = 0;
  Index snapshot_acked = 0;
  constexpr int rounds = 20;
  for (Term term = 1; term <= rounds; ++term) {
    CAPTURE(term);
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    const pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      ::close(fds[0]);
      run_writer(dir.path(), options, fds[1], term, seed + term);
    }
    ::close(fds[1]);
    // Let it run for a random while (sometimes not at all: killed while opening or recovering).
    const auto run_for = std::chrono::microseconds(rng() % 4 == 0 ? rng() % 2000 : rng() % 250000);
    std::this_thread::sleep_for(run_for);
    REQUIRE(::kill(pid, SIGKILL) == 0);
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    REQUIRE(WIFSIGNALED(status));  // it was still running: it never fails on its own
    // Every ack written before the kill is in the pipe: those are the promises to check.
    bool hard_state_acked = false;
    Ack a;
    while (::read(fds[0], &a, sizeof a) == sizeof a) {
      if (a.kind == Ack::durable) acked = std::max(acked, a.value);
      if (a.kind == Ack::snapshot) snapshot_acked = std::max(snapshot_acked, a.value);
      if (a.kind == Ack::hard_state) hard_state_acked = true;
    }
    ::close(fds[0]);

    FileLogStore s(dir.path(), options);
    const std::string summary = fmt::format(
        "round {}: ran {} ms, acked {}, log {}..{}, snapshot {}{}{}", term, run_for.count() / 1000,
        acked, s.first_index(), s.last_index(), s.snapshot_meta().last_index,
        s.recovery_report().empty() ? "" : ", recovery: ", s.recovery_report());
    MESSAGE(summary);
    REQUIRE(s.last_index() >= acked);
    REQUIRE(s.snapshot_meta().last_index >= snapshot_acked);
    if (hard_state_acked) CHECK(s.hard_state() == HardState{term, "w" + std::to_string(term)});
    if (s.snapshot_meta().last_index > 0) {
      auto snap = s.load_snapshot();
      REQUIRE(snap);
      CHECK(snap->second.str() == "snap@" + std::to_string(snap->first.last_index));
      // An index the parent never saw was written and compacted away by this round's writer.
      auto known = term_of.emplace(snap->first.last_index, term).first;
      CHECK(snap->first.last_term == known->second);
    }
    // Entries this round's writer appended carry its term; older ones must be unchanged.
    auto log = s.entries(s.first_index(), s.last_index(), SIZE_MAX);
    REQUIRE(log.size() == s.last_index() - s.first_index() + 1);
    for (const Entry& e : log) {
      auto [it, fresh] = term_of.emplace(e.index, term);
      REQUIRE(entry_ok(e, e.index, it->second));
      (void)fresh;
    }
    // Forget entries beyond the log: a later writer may legitimately write them afresh only if
    // they were never acknowledged, which the check above (last_index >= acked) already proves.
    term_of.erase(term_of.upper_bound(s.last_index()), term_of.end());
  }
  CHECK(acked > 0);
}

}  // namespace

TEST_CASE("file log: SIGKILLed writers lose no acknowledged entry and invent none") {
  check_killed_writers({.segment_bytes = 16384});
}

TEST_CASE("file log: SIGKILLed writers with preallocated segments lose nothing and invent none") {
  check_killed_writers({.segment_bytes = 16384, .preallocate_bytes = 4096});
}
