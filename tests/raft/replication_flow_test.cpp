// AppendEntries flow control at the core level (thesis §3.5, §10.2, issue 5): batches respect the
// entry and byte limits, the bytes in flight to a follower stay within the pipelining window and
// sending resumes as acknowledgements free it, a rejection puts the follower in probe mode (one
// AppendEntries outstanding), and fast back-off repairs a long conflicting suffix in a number of
// round trips bounded by its distinct terms, not its length.
#include <deque>
#include <map>
#include <random>
#include <set>

#include "raft/harness.hpp"

using namespace cohort::raft;
using namespace cohort::raft::test;

namespace {

const AppendRequest* as_append(const Message& m) {
  return std::get_if<AppendRequest>(&m.body);
}
const AppendResponse* as_response(const Message& m) {
  return std::get_if<AppendResponse>(&m.body);
}
bool is_batch(const Message& m, const std::string& from, const std::string& to) {
  auto* a = as_append(m);
  return a && !a->entries.empty() && m.from == from && m.to == to;
}
uint64_t data_bytes(const AppendRequest& a) {
  uint64_t n = 0;
  for (const auto& e : a.entries)
    n += e.data.size();
  return n;
}

// Reports every message when it is sent (enters the harness queue); the harness filter reports
// deliveries. The queue is FIFO, so messages not yet reported are always at its back.
class Tap {
 public:
  Tap(Harness& h, std::function<void(const Message&)> sent) : h_(h), sent_(std::move(sent)) {}
  void scan() {
    for (; reported_ < h_.queue.size(); ++reported_)
      sent_(h_.queue[reported_]);
  }
  void deliver_one() {
    scan();
    h_.deliver_one();
    --reported_;
    scan();
  }
  void deliver_all() {
    scan();
    while (!h_.queue.empty())
      deliver_one();
  }

 private:
  Harness& h_;
  std::function<void(const Message&)> sent_;
  size_t reported_ = 0;
};

// The follower holds exactly the leader's log.
void check_same_log(Harness& h, const std::string& leader, const std::string& follower) {
  MemoryLogStore& l = h.store(leader);
  MemoryLogStore& f = h.store(follower);
  REQUIRE(f.last_index() == l.last_index());
  auto le = l.entries(1, l.last_index(), SIZE_MAX);
  auto fe = f.entries(1, f.last_index(), SIZE_MAX);
  REQUIRE(le.size() == fe.size());
  for (size_t i = 0; i < le.size(); ++i) {
    INFO("index " << le[i].index);
    CHECK(fe[i].term == le[i].term);
    CHECK(fe[i].data.str() == le[i].data.str());
  }
}

// A, B, C with A leading and both followers in replicate mode at the no-op.
Harness steady_cluster(NodeOptions o) {
  Harness h({"A", "B", "C"}, o);
  h.campaign("A");
  REQUIRE(h.leader() == "A");
  h.tick_all(2);
  for (auto id : {"B", "C"}) {
    REQUIRE(h.node("A").replication().progress(id)->mode == Progress::Mode::replicate);
  }
  return h;
}

}  // namespace

TEST_CASE("replication flow: every batch is within max_append_entries and max_append_bytes") {
  NodeOptions o = quiet_options();
  o.replication.max_append_entries = 8;
  o.replication.max_append_bytes = 2000;
  Harness h = steady_cluster(o);
  // Small entries first (the entry limit binds), then 0 to 700 bytes (mostly the byte limit),
  // and a few entries larger than a whole batch (sent alone).
  std::mt19937_64 rng(7);
  for (int i = 0; i < 300; ++i) {
    size_t size = i % 50 == 25 ? 5000 : rng() % (i < 100 ? 101 : 701);
    REQUIRE(h.node("A").propose(bytes(std::string(size, char('a' + i % 26)))).ok());
  }
  std::map<Index, size_t> size_of;  // the leader's entry sizes
  for (const auto& e : h.store("A").entries(1, h.store("A").last_index(), SIZE_MAX))
    size_of[e.index] = e.data.size();
  const Index last = h.store("A").last_index();
  size_t batches = 0, full_by_count = 0, full_by_bytes = 0;
  Tap tap(h, [&](const Message& m) {
    if (!is_batch(m, "A", "B") && !is_batch(m, "A", "C")) return;
    const AppendRequest& a = *as_append(m);
    ++batches;
    INFO("batch " << a.entries.front().index << ".." << a.entries.back().index << " to " << m.to);
    CHECK(a.entries.size() <= 8);
    if (a.entries.size() > 1) CHECK(data_bytes(a) <= 2000);
    // Nothing is cut short: every batch that is not the log's end is full by one limit.
    Index after = a.entries.back().index + 1;
    if (after <= last) {
      bool by_count = a.entries.size() == 8;
      bool by_bytes = data_bytes(a) + size_of.at(after) > 2000;
      CHECK((by_count || by_bytes));
      full_by_count += by_count;
      full_by_bytes += by_bytes;
    }
  });
  h.process("A");
  tap.deliver_all();
  check_same_log(h, "A", "B");
  check_same_log(h, "A", "C");
  CHECK(batches >= 2 * 300 / 8);
  CHECK(full_by_count > 0);  // both limits were exercised
  CHECK(full_by_bytes > 0);
}

TEST_CASE("replication flow: bytes in flight stay within the window and acks resume sending") {
  // 1000-byte entries, 3 per batch: the 10000-byte window holds about three batches.
  NodeOptions o = quiet_options();
  o.replication.max_append_entries = 3;
  o.replication.max_append_bytes = 3000;
  o.replication.max_inflight_bytes = 10000;
  const uint64_t window = 10000, batch_max = 3000;
  Harness h = steady_cluster(o);
  const int count = 60;
  for (int i = 0; i < count; ++i)
    REQUIRE(h.node("A").propose(bytes(std::string(1000, 'x'))).ok());

  // Independent accounting of A -> B: batches sent and not yet acknowledged to A.
  std::deque<std::pair<Index, uint64_t>> inflight;  // (last index, data bytes)
  uint64_t inflight_bytes = 0, peak = 0;
  Index next_expected = h.store("B").last_index() + 1;
  size_t sent_batches = 0;
  Tap tap(h, [&](const Message& m) {
    if (!is_batch(m, "A", "B")) return;
    const AppendRequest& a = *as_append(m);
    CHECK(a.entries.front().index == next_expected);  // pipelined back to back, no gaps
    next_expected = a.entries.back().index + 1;
    // The window is checked before each send: a batch goes out only while it is not full, so
    // the bytes in flight exceed it by at most one batch.
    CHECK(inflight_bytes < window);
    inflight.emplace_back(a.entries.back().index, data_bytes(a));
    inflight_bytes += data_bytes(a);
    peak = std::max(peak, inflight_bytes);
    CHECK(inflight_bytes <= window + batch_max);
    ++sent_batches;
  });
  h.filter = [&](const Message& m) {
    auto* r = as_response(m);
    if (r && r->success && m.from == "B" && m.to == "A") {
      while (!inflight.empty() && inflight.front().first <= r->match) {
        inflight_bytes -= inflight.front().second;
        inflight.pop_front();
      }
    }
    return true;
  };
  h.process("A");
  tap.scan();
  // The leader stopped with most of the log unsent because the window is full.
  const Index last = h.store("A").last_index();
  CHECK(next_expected <= last);
  CHECK(inflight_bytes >= window - batch_max);
  CHECK(h.node("A").replication().progress("B")->mode == Progress::Mode::replicate);
  // Flushing again sends nothing more to B while no acknowledgement arrived.
  const size_t stalled_at = sent_batches;
  h.process("A");
  tap.scan();
  CHECK(sent_batches == stalled_at);
  // Deliver B's batches and its acknowledgements: the freed window is refilled until all is sent.
  tap.deliver_all();
  CHECK(sent_batches > stalled_at);
  CHECK(next_expected == last + 1);
  CHECK(inflight.empty());
  CHECK(peak <= window + batch_max);
  check_same_log(h, "A", "B");
}

TEST_CASE(
    "replication flow: after a rejection the follower is probed one AppendEntries at a time") {
  Harness h = steady_cluster(quiet_options());
  // B misses five entries; C and A commit them. A still believes its batches to B are in flight.
  h.cut("A", "B");
  for (int i = 0; i < 5; ++i)
    REQUIRE(h.propose("A", "m" + std::to_string(i)).ok());
  h.deliver_all();
  h.heal();
  // The next batch to B starts past B's log: B rejects it.
  bool rejected = false;
  h.filter = [&](const Message& m) {
    auto* r = as_response(m);
    if (r && !r->success && m.from == "B" && m.to == "A") rejected = true;
    return true;
  };
  REQUIRE(h.propose("A", "n0").ok());
  while (!rejected && !h.queue.empty())
    h.deliver_one();
  REQUIRE(rejected);
  const Progress* pr = h.node("A").replication().progress("B");
  CHECK(pr->mode == Progress::Mode::probe);
  CHECK(pr->probe_sent);
  auto outstanding_to_b = [&] {
    return std::count_if(h.queue.begin(), h.queue.end(),
                         [](const Message& m) { return is_batch(m, "A", "B"); });
  };
  CHECK(outstanding_to_b() == 1);
  // More proposals while the probe is outstanding: nothing more goes to B (C still gets them).
  for (int i = 1; i <= 3; ++i)
    REQUIRE(h.propose("A", "n" + std::to_string(i)).ok());
  CHECK(outstanding_to_b() == 1);
  CHECK(std::count_if(h.queue.begin(), h.queue.end(),
                      [](const Message& m) { return is_batch(m, "A", "C"); }) >= 3);
  // The probe matches: B is back in replicate mode and receives everything.
  h.deliver_all();
  CHECK(pr->mode == Progress::Mode::replicate);
  CHECK(pr->match == h.store("A").last_index());
  check_same_log(h, "A", "B");
}

TEST_CASE("replication flow: fast back-off repairs a long conflicting suffix per term") {
  // Scripted elections: no pre-vote, no check-quorum.
  Harness h({"A", "B", "C"}, quiet_options(false, false));
  h.campaign("A");
  REQUIRE(h.leader() == "A");
  h.tick_all(2);  // index 1 (term 1) committed everywhere
  // B leads terms 2, 3 and 4 but none of its appends leave it: it gathers a no-op and 20
  // commands per term that nobody else has.
  h.filter = [](const Message& m) { return !(m.from == "B" && as_append(m)); };
  for (Term t = 2; t <= 4; ++t) {
    h.campaign("B");
    REQUIRE(h.leader() == "B");
    REQUIRE(h.node("B").term_state().term == t);
    for (int i = 0; i < 20; ++i)
      REQUIRE(h.propose("B", "b" + std::to_string(t) + "-" + std::to_string(i)).ok());
    h.deliver_all();
  }
  h.filter = nullptr;
  REQUIRE(h.store("B").last_index() == 64);
  // C leads term 5 and, with A, commits 80 commands that B does not see; then A leads term 6.
  h.isolate("B");
  h.campaign("C");
  REQUIRE(h.node("C").is_leader());  // (B, cut off, still believes it leads term 4)
  for (int i = 0; i < 80; ++i)
    REQUIRE(h.propose("C", "c" + std::to_string(i)).ok());
  h.deliver_all();
  h.campaign("A");
  REQUIRE(h.node("A").is_leader());
  h.deliver_all();
  const Index leader_last = h.store("A").last_index();
  REQUIRE(leader_last == 83);  // 1 (term 1), 2..82 (term 5), 83 (term 6)
  // B's entries 2..64 conflict with A's log; they carry three distinct terms.
  std::set<Term> conflicting_terms;
  for (Index i = 2; i <= 64; ++i)
    conflicting_terms.insert(h.store("B").term_at(i));
  REQUIRE(conflicting_terms.size() == 3);

  // Repair: count B's rejections and check that at most one AppendEntries is outstanding to B
  // until it matches.
  h.heal();
  size_t rejections = 0, unanswered = 0, max_unanswered = 0;
  bool matched = false;
  std::vector<Index> probe_prev;
  Tap tap(h, [&](const Message& m) {
    if (!is_batch(m, "A", "B") || matched) return;
    probe_prev.push_back(as_append(m)->prev_index);
    max_unanswered = std::max(max_unanswered, ++unanswered);
  });
  h.filter = [&](const Message& m) {
    auto* r = as_response(m);
    if (!r || m.from != "B" || m.to != "A") return true;
    if (!r->success) {
      ++rejections;
      if (unanswered > 0) --unanswered;
    } else if (r->match > 0) {
      matched = true;  // (the heartbeat at prev_index 0 is answered with match 0)
    }
    return true;
  };
  h.tick("A", 2);  // a heartbeat re-arms the probe that the partition swallowed
  tap.deliver_all();
  CHECK(matched);
  CHECK(max_unanswered == 1);
  // One rejection because B's log is shorter, then one per conflicting term: 4 round trips for
  // 63 conflicting entries (one entry per round trip would take 82).
  INFO("probes at prev_index " << doctest::toString(probe_prev));
  CHECK(rejections <= conflicting_terms.size() + 1);
  CHECK(rejections >= 1);
  check_same_log(h, "A", "B");
  CHECK(h.node("A").replication().progress("B")->mode == Progress::Mode::replicate);
}

TEST_CASE(
    "replication flow: the conflict hint moves the probe past the leader's entries of that term") {
  // Leader A's log: 1 (term 1), 2..6 (term 2), 7..20 (term 3), 21 (term 4). B missed terms 3
  // and 4, so A's first probe to B is at prev_index 20; B's answers are crafted here to drive
  // each branch of the back-off.
  Harness h({"A", "B", "C"}, quiet_options(false, false));
  h.campaign("A");
  h.tick_all(2);
  h.campaign("A");  // term 2
  for (int i = 0; i < 4; ++i)
    REQUIRE(h.propose("A", "t2-" + std::to_string(i)).ok());
  h.deliver_all();
  h.isolate("B");
  h.campaign("A");  // term 3, with C only
  REQUIRE(h.leader() == "A");
  for (int i = 0; i < 13; ++i)
    REQUIRE(h.propose("A", "t3-" + std::to_string(i)).ok());
  h.deliver_all();
  h.campaign("A");  // term 4: the progress of B restarts at next = 21
  REQUIRE(h.leader() == "A");
  h.deliver_all();
  REQUIRE(h.store("A").last_index() == 21);
  REQUIRE(h.store("A").term_at(6) == 2);
  REQUIRE(h.store("A").term_at(7) == 3);
  const Term term = h.node("A").term_state().term;
  REQUIRE(term == 4);

  auto reject = [&](Index reject_index, Term conflict_term, Index conflict_index) {
    h.node("A").step(Message{
        "B", "A", AppendResponse{term, false, 0, reject_index, conflict_term, conflict_index}});
    h.process("A");
  };
  auto last_probe_prev = [&]() -> Index {
    for (auto it = h.queue.rbegin(); it != h.queue.rend(); ++it)
      if (is_batch(*it, "A", "B")) return as_append(*it)->prev_index;
    return ~Index{0};
  };
  const Progress* pr = h.node("A").replication().progress("B");
  REQUIRE(pr->mode == Progress::Mode::probe);
  REQUIRE(pr->next == 21);

  SUBCASE("B holds term 2 from index 3 up to 20: resume after A's last term-2 entry") {
    reject(20, 2, 3);
    CHECK(pr->next == 7);  // not 3: entries 3..6 of term 2 match already
    CHECK(last_probe_prev() == 6);
  }
  SUBCASE("B's log is shorter than the probe: resume right after B's last entry") {
    reject(20, 0, 12);  // no term at 20: B's log ends at 11
    CHECK(pr->next == 12);
    CHECK(last_probe_prev() == 11);
  }
  SUBCASE("a stale rejection of an older probe is ignored") {
    reject(15, 2, 3);
    CHECK(pr->next == 21);
  }
}

TEST_CASE("replication flow: a follower acknowledges new entries once and only after its sync") {
  // An AppendEntries that appends is answered after the sync that makes it durable, not also
  // before with a partial match (one message per round for nothing); a heartbeat that arrives
  // while the sync runs still gets the partial answer (the leader hears the follower is alive).
  Harness h = steady_cluster(quiet_options());
  h.member("B").auto_sync = false;
  const Index durable_before = h.store("B").durable_index();
  std::vector<AppendResponse> from_b;
  h.filter = [&](const Message& m) {
    if (auto* r = as_response(m); r && m.from == "B") from_b.push_back(*r);
    return true;
  };
  REQUIRE(h.propose("A", "one").ok());
  REQUIRE(h.propose("A", "two").ok());
  h.deliver_all();
  const Index last = h.store("A").last_index();
  REQUIRE(h.store("B").last_index() == last);
  CHECK(h.store("B").durable_index() == durable_before);
  CHECK(from_b.empty());  // appended, not durable: nothing to say yet

  // A heartbeat meanwhile: B answers with what is durable.
  h.tick("A", 10);
  h.deliver_all();
  REQUIRE(!from_b.empty());
  for (const auto& r : from_b) {
    CHECK(r.success);
    CHECK(r.match == durable_before);
  }
  from_b.clear();

  // The sync completes: one acknowledgement of everything.
  h.sync("B");
  h.deliver_all();
  REQUIRE(from_b.size() == 1);
  CHECK(from_b[0].success);
  CHECK(from_b[0].match == last);
}
