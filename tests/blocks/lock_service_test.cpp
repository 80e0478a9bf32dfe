// LockService through sessions: grants and FIFO queues, fencing tokens = log index of the
// grant and strictly increasing per lock, unlock only by the holder, release on close and on
// expiry (never before), grant notifications to waiters, cancel, listeners, snapshots.
#include <doctest/doctest.h>

#include "blocks_test_util.hpp"

using namespace cohort;
using test::Group;

namespace {

// A client of the group with its own session and sequence numbers.
struct Client {
  Client(Group& g, const std::string& owner, uint64_t time_ms)
      : group(g), session(g.open(owner, time_ms)) {}
  Buffer run(const Buffer& lock_command) {
    Envelope e = session.next(Group::to("lock", lock_command));
    Buffer r = group.submit(e, group.now_ms);
    session.completed(e.sequence);
    return r;
  }
  BlockReply<LockReply> lock(std::string_view name) {
    return lock_codec::decode_reply(run(lock_codec::lock(name)));
  }
  BlockReply<LockReply> try_lock(std::string_view name) {
    return lock_codec::decode_reply(run(lock_codec::try_lock(name)));
  }
  BlockReply<LockReply> cancel(std::string_view name) {
    return lock_codec::decode_reply(run(lock_codec::cancel(name)));
  }
  BlockStatus unlock(std::string_view name) {
    return lock_codec::decode_unlock(run(lock_codec::unlock(name))).status;
  }
  void keep_alive(uint64_t time_ms) {
    REQUIRE(parse_result(group.submit(session.keep_alive(), time_ms)).ok());
  }
  uint64_t id() const { return session.id(); }

  Group& group;
  ClientSession session;
};

// The grants the group reported to `session`.
std::vector<LockGrant> grants_to(const Group& g, uint64_t session) {
  std::vector<LockGrant> out;
  for (const auto& n : g.notes) {
    if (n.session_id != session || n.service != "lock") continue;
    auto grant = lock_codec::decode_grant(n.payload);
    REQUIRE(grant.has_value());
    out.push_back(*grant);
  }
  return out;
}

}  // namespace

TEST_CASE("lock: a free lock is granted with the log index as fencing token") {
  Group g;
  Client a(g, "A", 0);
  auto r = a.lock("L");
  REQUIRE(r.ok());
  CHECK(r.value.outcome == LockOutcome::acquired);
  CHECK(r.value.token == g.index);
  const LockInfo info = g.locks->info("L");
  CHECK(info.held);
  CHECK(info.session_id == a.id());
  CHECK(info.owner == "A");
  CHECK(info.token == r.value.token);
  // Locking again by the holder returns the same grant (not reentrant).
  CHECK(a.lock("L").value == r.value);
}

TEST_CASE("lock: waiters queue in FIFO order and are notified of their grant") {
  Group g;
  Client a(g, "A", 0), b(g, "B", 0), c(g, "C", 0);
  const uint64_t t1 = a.lock("L").value.token;
  auto rb = b.lock("L");
  auto rc = c.lock("L");
  CHECK(rb.value.outcome == LockOutcome::queued);
  CHECK(rb.value.position == 1);
  CHECK(rc.value.position == 2);
  CHECK(b.lock("L").value.position == 1);  // asking again keeps the place
  CHECK(g.locks->info("L").waiters == 2);

  CHECK(a.unlock("L") == BlockStatus::ok);
  const uint64_t t2 = g.index;
  CHECK(g.locks->info("L").session_id == b.id());
  CHECK(g.locks->info("L").token == t2);
  CHECK(t2 > t1);
  REQUIRE(grants_to(g, b.id()).size() == 1);
  CHECK(grants_to(g, b.id())[0] == LockGrant{"L", t2});
  CHECK(grants_to(g, c.id()).empty());

  CHECK(b.unlock("L") == BlockStatus::ok);
  CHECK(g.locks->info("L").session_id == c.id());
  CHECK(g.locks->info("L").token > t2);
  CHECK(c.unlock("L") == BlockStatus::ok);
  CHECK_FALSE(g.locks->info("L").held);
  CHECK(g.locks->lock_count() == 0);
}

TEST_CASE("lock: unlock by a non-holder is rejected and changes nothing") {
  Group g;
  Client a(g, "A", 0), b(g, "B", 0);
  a.lock("L");
  b.lock("L");
  const Buffer before = g.machine->inner().snapshot();
  CHECK(b.unlock("L") == BlockStatus::not_holder);  // a waiter
  CHECK(b.unlock("M") == BlockStatus::not_holder);  // an unknown lock
  CHECK(g.machine->inner().snapshot() == before);
  CHECK(g.locks->info("L").session_id == a.id());
}

TEST_CASE("lock: try_lock fails immediately when held and never queues") {
  Group g;
  Client a(g, "A", 0), b(g, "B", 0);
  CHECK(a.try_lock("L").value.outcome == LockOutcome::acquired);
  CHECK(b.try_lock("L").value.outcome == LockOutcome::busy);
  CHECK(g.locks->info("L").waiters == 0);
  CHECK(a.unlock("L") == BlockStatus::ok);
  CHECK(b.try_lock("L").value.outcome == LockOutcome::acquired);
}

TEST_CASE("lock: cancel withdraws a waiter and tells when the grant won the race") {
  Group g;
  Client a(g, "A", 0), b(g, "B", 0), c(g, "C", 0);
  a.lock("L");
  b.lock("L");
  c.lock("L");
  CHECK(b.cancel("L").value.outcome == LockOutcome::cancelled);
  CHECK(b.cancel("L").value.outcome == LockOutcome::not_waiting);
  CHECK(g.locks->info("L").waiters == 1);
  a.unlock("L");
  CHECK(g.locks->info("L").session_id == c.id());
  // c's timeout fired but the grant was applied first: cancel reports the grant.
  auto r = c.cancel("L");
  CHECK(r.value.outcome == LockOutcome::acquired);
  CHECK(r.value.token == g.locks->info("L").token);
}

TEST_CASE("lock: operations need a session") {
  Group g;
  auto r =
      parse_result(g.submit(Envelope::sessionless(Group::to("lock", lock_codec::lock("L"))), 0));
  CHECK(r.status == BlockStatus::session_required);
  // holder is a read and works without one, as a command or a query.
  auto info = lock_codec::decode_info(
      g.submit(Envelope::sessionless(Group::to("lock", lock_codec::holder("L"))), 0));
  CHECK(info.ok());
  CHECK_FALSE(info.value.held);
  CHECK(lock_codec::decode_info(g.machine->query(Group::to("lock", lock_codec::holder("L")))).ok());
  CHECK(parse_result(g.machine->query(Group::to("lock", lock_codec::lock("L")))).status ==
        BlockStatus::write_in_query);
}

TEST_CASE("lock: a live session keeps its lock however long - expiry releases it") {
  SessionConfig config;
  config.session_timeout_ms = 1000;
  Group g(config);
  Client a(g, "A", 0), b(g, "B", 0);
  const uint64_t t1 = a.lock("L").value.token;
  b.lock("L");
  // A and B keep alive for a long time: A keeps the lock.
  for (uint64_t t = 500; t <= 10'000; t += 500) {
    a.keep_alive(t);
    b.keep_alive(t);
  }
  CHECK(g.locks->info("L").session_id == a.id());
  // A goes silent (crash, pause, partition); B keeps alive. Not a millisecond too early:
  b.keep_alive(10'900);
  b.keep_alive(11'000);  // 11'000 - 10'000 == timeout: A still live
  CHECK(g.locks->info("L").session_id == a.id());
  b.keep_alive(11'001);  // now A's session expires, its lock goes to B
  CHECK(g.machine->sessions().find(a.id()) == nullptr);
  const LockInfo info = g.locks->info("L");
  CHECK(info.session_id == b.id());
  CHECK(info.token == g.index);
  CHECK(info.token > t1);
  REQUIRE(grants_to(g, b.id()).size() == 1);
  CHECK(grants_to(g, b.id())[0].token == info.token);
  // A's unlock after expiry: its session is gone.
  CHECK(a.unlock("L") == BlockStatus::session_expired);
}

TEST_CASE("lock: closing a session releases its locks and leaves its queues") {
  Group g;
  Client a(g, "A", 0), b(g, "B", 0), c(g, "C", 0);
  a.lock("L");
  a.lock("M");
  b.lock("M");
  c.lock("L");
  b.lock("L");  // b waits for L behind c, and for M
  REQUIRE(parse_result(g.submit(b.session.close(), 0)).ok());
  CHECK(g.locks->info("L").waiters == 1);
  CHECK(g.locks->info("M").waiters == 0);
  REQUIRE(parse_result(g.submit(a.session.close(), 0)).ok());
  CHECK(g.locks->info("L").session_id == c.id());
  CHECK_FALSE(g.locks->info("M").held);
}

TEST_CASE("lock: one grant per lock per entry keeps tokens strictly increasing") {
  SessionConfig config;
  config.session_timeout_ms = 100;
  Group g(config);
  std::vector<uint64_t> tokens;
  g.locks->add_listener([&](const LockEvent& e) {
    if (e.kind == LockEvent::Kind::acquired) tokens.push_back(e.token);
  });
  Client a(g, "A", 0), b(g, "B", 0);
  a.lock("L");
  b.lock("L");
  Client c(g, "C", 100);
  c.lock("L");
  // A and B expire in the same entry. A's release grants L to B; B's release must not grant
  // C in that entry too (it would get the same token).
  g.tick(101);
  CHECK(g.machine->sessions().find(a.id()) == nullptr);
  CHECK(g.machine->sessions().find(b.id()) == nullptr);
  CHECK_FALSE(g.locks->info("L").held);  // C's grant waits for the next entry
  CHECK(g.locks->info("L").waiters == 1);
  g.tick(101);
  CHECK(g.locks->info("L").session_id == c.id());
  CHECK(g.locks->info("L").token == g.index);
  REQUIRE(grants_to(g, c.id()).size() == 1);
  CHECK(tokens.size() == 3);
  for (size_t i = 1; i < tokens.size(); ++i)
    CHECK(tokens[i] > tokens[i - 1]);
}

TEST_CASE("lock: a lock granted and freed within an entry is not granted again in it") {
  SessionConfig config;
  config.session_timeout_ms = 100;
  Group g(config);
  Client a(g, "A", 0), b(g, "B", 0), c(g, "C", 0);
  a.lock("L");
  b.lock("L");
  c.keep_alive(100);
  // C's lock entry, at 150, first expires A (L to B) and B (L freed, nobody waiting).
  g.now_ms = 150;
  const auto r = c.lock("L");
  const uint64_t entry = g.index;
  CHECK(r.value.outcome == LockOutcome::queued);
  CHECK_FALSE(g.locks->info("L").held);
  g.tick(150);
  CHECK(g.locks->info("L").session_id == c.id());
  CHECK(g.locks->info("L").token == entry + 1);
  REQUIRE(grants_to(g, c.id()).size() == 1);
}

TEST_CASE("lock: listeners see every acquisition and release with its reason") {
  SessionConfig config;
  config.session_timeout_ms = 100;
  Group g(config);
  std::vector<std::string> seen;
  g.locks->add_listener([&](const LockEvent& e) {
    seen.push_back((e.kind == LockEvent::Kind::acquired ? "+" : "-") + e.owner + ":" + e.name +
                   (e.reason == LockEvent::Reason::session_ended ? "(ended)" : ""));
  });
  Client a(g, "A", 0), b(g, "B", 0);
  a.lock("L");
  b.lock("L");
  a.unlock("L");
  g.tick(1000);  // B expires
  CHECK(seen == std::vector<std::string>{"+A:L", "-A:L", "+B:L", "-B:L(ended)"});
}

TEST_CASE("lock: malformed lock commands are rejected") {
  Group g;
  Client a(g, "A", 0);
  CHECK(parse_result(a.run(Buffer{})).status == BlockStatus::malformed);
  CHECK(parse_result(a.run(Buffer::copy_of("\x07\x01L"))).status == BlockStatus::malformed);
  for (const auto& prefix : test::strict_prefixes(lock_codec::lock("a-lock")))
    CHECK(parse_result(a.run(prefix)).status == BlockStatus::malformed);
  CHECK(parse_result(a.run(lock_codec::lock(std::string(max_lock_name_bytes + 1, 'x')))).status ==
        BlockStatus::malformed);
  CHECK(g.locks->lock_count() == 0);
}

TEST_CASE("lock: snapshot and restore keep holders and queues and deferred grants") {
  SessionConfig config;
  config.session_timeout_ms = 100;
  Group g(config);
  Client a(g, "A", 0), b(g, "B", 0);
  a.lock("L");
  b.lock("L");
  Client c(g, "C", 50), d(g, "D", 50);
  c.lock("L");
  d.lock("M");
  c.lock("M");
  g.tick(101);  // A and B expire; L's grant to C is deferred to the next entry
  CHECK_FALSE(g.locks->info("L").held);
  Group h(config);
  h.machine->restore(g.machine->snapshot());
  CHECK(h.machine->snapshot() == g.machine->snapshot());
  h.index = g.index;
  g.tick(102);
  h.tick(102);
  CHECK(h.machine->snapshot() == g.machine->snapshot());
  CHECK(h.locks->info("L").session_id == c.id());
  CHECK(h.locks->info("M").session_id == d.id());
  CHECK(h.locks->info("M").waiters == 1);
  // Corrupt snapshots are refused and change nothing.
  for (const auto& prefix : test::strict_prefixes(g.locks->snapshot()))
    CHECK_THROWS_AS(h.locks->restore(prefix), SnapshotError);
  CHECK(h.machine->snapshot() == g.machine->snapshot());
}
