// MemoryLogStore: the LogStore contract and the crash model.
#include <doctest/doctest.h>

#include "protocols/raft/log/memory_log_store.hpp"

using namespace cohort;
using namespace cohort::raft;

namespace {
std::vector<Entry> make(Index from, Index to, Term t) {
  std::vector<Entry> v;
  for (Index i = from; i <= to; ++i) {
    v.push_back(Entry{t, i, EntryType::command, Buffer::copy_of(std::to_string(i))});
  }
  return v;
}
}  // namespace

TEST_CASE("memory store: append, truncate, entries with byte limit") {
  MemoryLogStore s;
  CHECK(s.first_index() == 1);
  CHECK(s.last_index() == 0);
  CHECK(s.term_at(0) == 0);
  s.append(make(1, 5, 1));
  CHECK(s.last_index() == 5);
  CHECK(s.durable_index() == 0);
  CHECK(s.entries(1, 5, 1).size() == 1);  // at least one entry
  CHECK(s.entries(1, 5, 1000).size() == 5);
  s.append(make(3, 4, 2));  // conflict truncation
  CHECK(s.last_index() == 4);
  CHECK(s.term_at(3) == 2);
  CHECK(s.sync() == 4);
  CHECK(s.durable_index() == 4);
  CHECK_THROWS_AS(s.append(make(7, 7, 2)), StoreError);  // gap
}

TEST_CASE("memory store: crash drops unsynced appends and unsynced truncations") {
  MemoryLogStore s;
  s.append(make(1, 5, 1));
  s.sync();
  s.append(make(6, 8, 1));
  s.append(make(4, 4, 2));  // truncates 4..8 (4, 5 were durable)
  CHECK(s.durable_index() == 3);
  CHECK(s.durably_holds(5, 1));
  CHECK_FALSE(s.durably_holds(4, 2));
  s.crash();
  CHECK(s.last_index() == 5);  // the durable image: 1..5 of term 1
  CHECK(s.term_at(4) == 1);
  CHECK(s.durable_index() == 5);
  s.save_hard_state({3, "B"});
  s.crash();
  CHECK(s.hard_state() == HardState{3, "B"});
}

TEST_CASE("memory store: snapshots compact, keep a matching tail, survive crashes") {
  MemoryLogStore s;
  s.append(make(1, 10, 1));
  s.sync();
  s.save_snapshot({6, 1, Buffer()}, Buffer::copy_of("snap"));
  CHECK(s.first_index() == 7);
  CHECK(s.last_index() == 10);
  CHECK(s.term_at(6) == 1);
  s.save_snapshot({20, 3, Buffer()}, Buffer::copy_of("snap2"));  // beyond the log: discard
  CHECK(s.first_index() == 21);
  CHECK(s.last_index() == 20);
  CHECK(s.durable_index() == 20);
  s.append(make(21, 22, 3));
  s.crash();
  CHECK(s.last_index() == 20);
  auto snap = s.load_snapshot();
  REQUIRE(snap);
  CHECK(snap->second.str() == "snap2");
}
