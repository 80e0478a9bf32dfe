// SessionStateMachine: exactly-once (a retried command is applied once and gets the same
// bytes), result caching bounded by acked_seq, expiry on cluster time only, close, typed
// errors, malformed envelopes, and the session table in the snapshot.
#include <doctest/doctest.h>

#include "blocks_test_util.hpp"

using namespace cohort;
using test::Group;

namespace {

Buffer incr(std::string_view name) {
  return Group::to("counter", counter_codec::increment_and_get(name));
}

}  // namespace

TEST_CASE("session: open returns the log index of the open entry as the session id") {
  Group g;
  g.tick(0);
  g.tick(0);
  const uint64_t id = g.open("A", 10);
  CHECK(id == 3);
  REQUIRE(g.machine->sessions().find(id) != nullptr);
  CHECK(g.machine->sessions().find(id)->owner == "A");
}

TEST_CASE("session: a retried command is applied once and returns the same result") {
  Group g;
  const uint64_t id = g.open("A", 0);
  const Envelope e = Envelope::command(id, 1, 0, incr("c"));
  const Buffer first = g.submit(e, 10);
  const Buffer again = g.submit(e, 20);
  CHECK(first == again);
  CHECK(counter_codec::decode_value(first).value == 1);
  CHECK(g.counters->value("c") == 1);
  CHECK(g.machine->stats().duplicates == 1);
  // The next sequence is applied.
  CHECK(counter_codec::decode_value(g.submit(Envelope::command(id, 2, 1, incr("c")), 30)).value ==
        2);
  CHECK(g.counters->value("c") == 2);
}

TEST_CASE("session: commands may be applied out of order - each once") {
  Group g;
  const uint64_t id = g.open("A", 0);
  g.submit(Envelope::command(id, 2, 0, incr("c")), 1);
  g.submit(Envelope::command(id, 1, 0, incr("c")), 2);
  g.submit(Envelope::command(id, 2, 0, incr("c")), 3);
  g.submit(Envelope::command(id, 1, 0, incr("c")), 4);
  CHECK(g.counters->value("c") == 2);
}

TEST_CASE("session: acknowledged results are dropped - their retries get stale_sequence") {
  Group g;
  const uint64_t id = g.open("A", 0);
  for (uint64_t seq = 1; seq <= 5; ++seq)
    g.submit(Envelope::command(id, seq, 0, incr("c")), seq);
  CHECK(g.machine->sessions().find(id)->results.size() == 5);
  g.submit(Envelope::keep_alive(id, 3), 10);
  CHECK(g.machine->sessions().find(id)->results.size() == 2);
  CHECK(g.machine->sessions().find(id)->acked_seq == 3);
  auto r = parse_result(g.submit(Envelope::command(id, 2, 3, incr("c")), 11));
  CHECK(r.status == BlockStatus::stale_sequence);
  CHECK(g.counters->value("c") == 5);
  // acked_seq never goes backwards.
  g.submit(Envelope::keep_alive(id, 1), 12);
  CHECK(g.machine->sessions().find(id)->acked_seq == 3);
  // A command's own acked_seq prunes too.
  g.submit(Envelope::command(id, 6, 5, incr("c")), 13);
  CHECK(g.machine->sessions().find(id)->results.size() == 1);
}

TEST_CASE("session: the result cache is bounded - beyond it commands are rejected - not applied") {
  SessionConfig config;
  config.max_results_per_session = 3;
  Group g(config);
  const uint64_t id = g.open("A", 0);
  for (uint64_t seq = 1; seq <= 3; ++seq)
    CHECK(parse_result(g.submit(Envelope::command(id, seq, 0, incr("c")), 1)).ok());
  CHECK(parse_result(g.submit(Envelope::command(id, 4, 0, incr("c")), 1)).status ==
        BlockStatus::session_cache_full);
  CHECK(g.counters->value("c") == 3);
  // Retries of cached sequences are still answered; acknowledging makes room.
  CHECK(parse_result(g.submit(Envelope::command(id, 3, 0, incr("c")), 1)).ok());
  CHECK(parse_result(g.submit(Envelope::command(id, 4, 2, incr("c")), 1)).ok());
  CHECK(g.counters->value("c") == 4);
}

TEST_CASE("session: too many sessions is a typed error") {
  SessionConfig config;
  config.max_sessions = 2;
  Group g(config);
  g.open("A", 0);
  g.open("B", 0);
  CHECK(parse_result(g.submit(Envelope::open_session("C"), 0)).status ==
        BlockStatus::too_many_sessions);
  CHECK(g.machine->sessions().size() == 2);
}

TEST_CASE("session: expiry is decided by cluster time in the log - strictly after the timeout") {
  SessionConfig config;
  config.session_timeout_ms = 1000;
  Group g(config);
  const uint64_t id = g.open("A", 0);
  g.tick(1000);  // exactly the timeout: still live
  REQUIRE(g.machine->sessions().find(id) != nullptr);
  CHECK(parse_result(g.submit(Envelope::keep_alive(id, 0), 1000)).ok());
  g.tick(2000);
  REQUIRE(g.machine->sessions().find(id) != nullptr);
  g.tick(2001);
  CHECK(g.machine->sessions().find(id) == nullptr);
  CHECK(g.machine->stats().expired == 1);
  REQUIRE(g.notes.size() == 1);
  CHECK(g.notes[0].session_id == id);
  CHECK(g.notes[0].service.empty());
  auto r = parse_result(g.submit(Envelope::command(id, 1, 0, incr("c")), 2002));
  CHECK(r.status == BlockStatus::session_expired);
  CHECK(g.counters->value("c") == 0);
}

TEST_CASE("session: an expired session's command in the same entry is rejected") {
  SessionConfig config;
  config.session_timeout_ms = 100;
  Group g(config);
  const uint64_t id = g.open("A", 0);
  // No entry in between: the command's own entry carries time 500, so expiry runs first.
  CHECK(parse_result(g.submit(Envelope::command(id, 1, 0, incr("c")), 500)).status ==
        BlockStatus::session_expired);
  CHECK(g.counters->value("c") == 0);
}

TEST_CASE("session: close ends the session - later commands get session_expired") {
  Group g;
  const uint64_t id = g.open("A", 0);
  CHECK(parse_result(g.submit(Envelope::close_session(id), 1)).ok());
  CHECK(g.machine->stats().closed == 1);
  CHECK(parse_result(g.submit(Envelope::close_session(id), 2)).status ==
        BlockStatus::session_expired);
  CHECK(parse_result(g.submit(Envelope::keep_alive(id, 0), 3)).status ==
        BlockStatus::session_expired);
  CHECK(parse_result(g.submit(Envelope::command(99, 1, 0, incr("c")), 3)).status ==
        BlockStatus::session_expired);
}

TEST_CASE("session: session-less commands pass through without deduplication") {
  Group g;
  const Envelope e = Envelope::sessionless(incr("c"));
  g.submit(e, 0);
  g.submit(e, 0);
  CHECK(g.counters->value("c") == 2);
}

TEST_CASE("session: malformed envelopes are rejected and change nothing") {
  Group g;
  const uint64_t id = g.open("A", 0);
  const Buffer before = g.machine->snapshot();
  const Buffer full = encode(Envelope::command(id, 1, 0, incr("c")));
  for (const auto& prefix : test::strict_prefixes(full))
    CHECK(parse_result(g.submit_raw(prefix, 0)).status == BlockStatus::malformed);
  CHECK(parse_result(g.submit_raw(Buffer::copy_of("\xff\xff\xff garbage"), 0)).status ==
        BlockStatus::malformed);
  CHECK(g.machine->snapshot() == before);
  CHECK(g.counters->value("c") == 0);
}

TEST_CASE("session: the snapshot carries the session table - so dedupe survives restore") {
  Group a;
  const uint64_t id = a.open("A", 0);
  const Envelope e = Envelope::command(id, 1, 0, incr("c"));
  const Buffer first = a.submit(e, 5);

  Group b;
  b.machine->restore(a.machine->snapshot());
  CHECK(b.machine->snapshot() == a.machine->snapshot());
  CHECK(b.machine->sessions() == a.machine->sessions());
  b.index = a.index;
  CHECK(b.submit(e, 6) == first);  // the retry reaches a member restored from a snapshot
  CHECK(b.counters->value("c") == 1);
}

TEST_CASE("session: a bad snapshot throws and leaves the state unchanged") {
  Group a;
  const uint64_t id = a.open("A", 0);
  a.submit(Envelope::command(id, 1, 0, incr("c")), 5);
  const Buffer good = a.machine->snapshot();
  Group b;
  b.open("B", 0);
  const Buffer before = b.machine->snapshot();
  for (const auto& prefix : test::strict_prefixes(good))
    CHECK_THROWS_AS(b.machine->restore(prefix), SnapshotError);
  CHECK(b.machine->snapshot() == before);
}
