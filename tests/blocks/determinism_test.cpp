// Determinism: members fed the same log produce the same results, notifications and
// byte-identical snapshots; a member restored from a snapshot mid-log continues identically.
// Plus the exactly-once property under random retries: the counter equals the number of
// distinct increments.
#include <doctest/doctest.h>

#include <random>

#include "blocks_test_util.hpp"

using namespace cohort;
using test::Group;

namespace {

struct Entry {
  Buffer command;  // empty: a no-op entry
  uint64_t time_ms = 0;
};

// A random log: sessions opened, commands on all services (some retried, some malformed),
// keep-alives, closes and silences long enough to expire sessions.
std::vector<Entry> random_log(uint64_t seed, size_t n) {
  std::mt19937_64 rng(seed);
  auto pick = [&](uint64_t k) { return rng() % k; };
  std::vector<Entry> log;
  std::vector<uint64_t> sessions;  // ids as the machine will assign them (log index)
  std::vector<uint64_t> next_seq;
  std::vector<Envelope> sent;
  uint64_t time_ms = 0;
  const char* names[] = {"a", "b", "c"};
  for (size_t i = 0; i < n; ++i) {
    time_ms += pick(4) == 0 ? pick(3000) : pick(50);
    const uint64_t index = log.size() + 1;
    const uint64_t what = pick(100);
    if (sessions.empty() || what < 5) {
      log.push_back({encode(Envelope::open_session("owner" + std::to_string(index))), time_ms});
      sessions.push_back(index);
      next_seq.push_back(1);
      continue;
    }
    const size_t s = pick(sessions.size());
    Buffer payload;
    const std::string name = names[pick(3)];
    switch (pick(10)) {
      case 0:
        payload = Group::to("map", test::StringMap::Codec::put(name, std::to_string(i)));
        break;
      case 1:
        payload = Group::to("map", test::StringMap::Codec::remove(name));
        break;
      case 2:
        payload = Group::to("counter", counter_codec::increment_and_get(name));
        break;
      case 3:
        payload = Group::to("counter", counter_codec::compare_and_set(name, 2, 5));
        break;
      case 4:
        payload = Group::to("lock", lock_codec::lock(name));
        break;
      case 5:
        payload = Group::to("lock", lock_codec::unlock(name));
        break;
      case 6:
        payload = Group::to("lock", lock_codec::try_lock(name));
        break;
      case 7:
        payload = Group::to("lock", lock_codec::cancel(name));
        break;
      default:
        payload = Buffer::copy_of("\x01junk");
        break;
    }
    if (what < 10) {
      log.push_back({encode(Envelope::keep_alive(sessions[s], next_seq[s] / 2)), time_ms});
    } else if (what < 12) {
      log.push_back({encode(Envelope::close_session(sessions[s])), time_ms});
    } else if (what < 15) {
      log.push_back({Buffer{}, time_ms});
    } else if (what < 25 && !sent.empty()) {
      log.push_back({encode(sent[pick(sent.size())]), time_ms});  // a retry
    } else {
      const uint64_t seq = next_seq[s]++;
      Envelope e = Envelope::command(sessions[s], seq, seq / 3, payload);
      sent.push_back(e);
      log.push_back({encode(e), time_ms});
    }
  }
  return log;
}

// Applies entries [from, to) the way the Raft layer does; returns results and notifications
// rendered as bytes for comparison.
std::vector<std::string> run(Group& g, const std::vector<Entry>& log, size_t from, size_t to) {
  std::vector<std::string> out;
  for (size_t i = from; i < to; ++i) {
    const size_t before = g.notes.size();
    if (log[i].command.empty())
      g.tick(log[i].time_ms);
    else
      out.push_back(g.submit_raw(log[i].command, log[i].time_ms).str());
    for (size_t k = before; k < g.notes.size(); ++k)
      out.push_back(std::to_string(g.notes[k].session_id) + g.notes[k].service +
                    g.notes[k].payload.str());
  }
  return out;
}

SessionConfig short_sessions() {
  SessionConfig config;
  config.session_timeout_ms = 2000;
  config.max_results_per_session = 64;
  return config;
}

}  // namespace

TEST_CASE("determinism: two members fed the same log agree byte for byte") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    const auto log = random_log(seed, 600);
    Group a(short_sessions()), b(short_sessions());
    const auto ra = run(a, log, 0, log.size());
    const auto rb = run(b, log, 0, log.size());
    CHECK(ra == rb);
    CHECK(a.machine->snapshot() == b.machine->snapshot());
  }
}

TEST_CASE("determinism: a member restored from a snapshot mid-log continues identically") {
  for (uint64_t seed = 100; seed < 110; ++seed) {
    CAPTURE(seed);
    const auto log = random_log(seed, 600);
    const size_t cut = 1 + seed % 500;
    Group a(short_sessions());
    run(a, log, 0, cut);
    Group b(short_sessions());
    b.machine->restore(a.machine->snapshot());
    b.index = a.index;
    CHECK(b.machine->snapshot() == a.machine->snapshot());
    CHECK(run(a, log, cut, log.size()) == run(b, log, cut, log.size()));
    CHECK(a.machine->snapshot() == b.machine->snapshot());
  }
}

TEST_CASE("exactly-once: with random retries the counter equals the distinct increments") {
  std::mt19937_64 rng(7);
  Group g;
  std::vector<ClientSession> clients;
  for (int c = 0; c < 4; ++c)
    clients.emplace_back(g.open("client" + std::to_string(c), 0));
  std::vector<std::pair<size_t, Envelope>> in_flight;
  uint64_t distinct = 0;
  for (int step = 0; step < 2000; ++step) {
    const size_t c = rng() % clients.size();
    if (rng() % 3 == 0 || in_flight.empty()) {
      in_flight.emplace_back(
          c, clients[c].next(Group::to("counter", counter_codec::increment_and_get("n"))));
      ++distinct;
    }
    // Deliver a random in-flight command; its reply may be "lost" (then it is retried later).
    const size_t k = rng() % in_flight.size();
    auto [owner, e] = in_flight[k];
    auto r = g.submit(e, step);
    REQUIRE(parse_result(r).ok());
    if (rng() % 2 == 0) {
      clients[owner].completed(e.sequence);
      in_flight.erase(in_flight.begin() + static_cast<long>(k));
    }
  }
  for (auto& [owner, e] : in_flight)
    g.submit(e, 2000);
  CHECK(g.counters->value("n") == static_cast<int64_t>(distinct));
  CHECK(g.machine->stats().applied == distinct);
}
