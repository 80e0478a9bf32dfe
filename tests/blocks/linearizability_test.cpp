// The linearizability checker itself, on small histories whose answer is known: sequential
// and concurrent linearizable histories, the classic stale read, lost updates, unknown
// outcomes, per-key independence, and histories recorded from the real state machines.
#include <doctest/doctest.h>

#include <random>

#include "blocks_test_util.hpp"
#include "linearizability.hpp"

using namespace cohort;
using namespace cohort::lin;

namespace {

using V = std::optional<std::string>;

// An operation of `client` called at `call` that returned at `ret`.
template <class Op>
Op at(int client, int64_t call, int64_t ret) {
  Op op;
  op.client = client;
  op.call = call;
  op.ret = ret;
  return op;
}

MapOperation put(int client, int64_t call, int64_t ret, std::string key, std::string value,
                 V prev) {
  auto op = at<MapOperation>(client, call, ret);
  op.kind = MapOpKind::put;
  op.key = std::move(key);
  op.value = std::move(value);
  op.result = std::move(prev);
  return op;
}

MapOperation get(int client, int64_t call, int64_t ret, std::string key, V value) {
  auto op = at<MapOperation>(client, call, ret);
  op.kind = MapOpKind::get;
  op.key = std::move(key);
  op.result = std::move(value);
  return op;
}

MapOperation cas(int client, int64_t call, int64_t ret, std::string key, V expected,
                 std::string value, bool ok) {
  auto op = at<MapOperation>(client, call, ret);
  op.kind = MapOpKind::compare_and_set;
  op.key = std::move(key);
  op.expected = std::move(expected);
  op.value = std::move(value);
  op.ok = ok;
  return op;
}

CounterOperation add(int client, int64_t call, int64_t ret, int64_t delta, int64_t result) {
  auto op = at<CounterOperation>(client, call, ret);
  op.kind = CounterOpKind::add_and_get;
  op.name = "c";
  op.arg = delta;
  op.result = result;
  return op;
}

CounterOperation read(int client, int64_t call, int64_t ret, int64_t result) {
  auto op = at<CounterOperation>(client, call, ret);
  op.kind = CounterOpKind::get;
  op.name = "c";
  op.result = result;
  return op;
}

}  // namespace

TEST_CASE("lin: empty and sequential histories are linearizable") {
  CHECK(check_map({}).verdict == Verdict::linearizable);
  CHECK(check_map({put(1, 0, 1, "x", "1", {}), get(2, 2, 3, "x", "1"), put(1, 4, 5, "x", "2", "1"),
                   get(2, 6, 7, "x", "2")})
            .verdict == Verdict::linearizable);
}

TEST_CASE("lin: a sequential read of a value never written is not linearizable") {
  auto r = check_map({put(1, 0, 1, "x", "1", {}), get(2, 2, 3, "x", "7")});
  CHECK(r.verdict == Verdict::not_linearizable);
  CHECK(r.failed_key == "x");
}

TEST_CASE("lin: a read concurrent with a write may see either value") {
  CHECK(check_map({put(1, 0, 10, "x", "1", {}), get(2, 2, 3, "x", {})}).verdict ==
        Verdict::linearizable);
  CHECK(check_map({put(1, 0, 10, "x", "1", {}), get(2, 2, 3, "x", "1")}).verdict ==
        Verdict::linearizable);
}

TEST_CASE("lin: the classic stale read is not linearizable") {
  // x=1 and then x=2 both complete; a later read still returns 1 (a deposed leader served it).
  const std::vector<MapOperation> h{put(1, 0, 10, "x", "1", {}), put(1, 20, 30, "x", "2", "1"),
                                    get(2, 40, 50, "x", "1")};
  CHECK(check_map(h).verdict == Verdict::not_linearizable);
  // The same read concurrent with the second write is fine.
  const std::vector<MapOperation> ok{put(1, 0, 10, "x", "1", {}), put(1, 20, 30, "x", "2", "1"),
                                     get(2, 25, 50, "x", "1")};
  CHECK(check_map(ok).verdict == Verdict::linearizable);
}

TEST_CASE("lin: reads must agree on the order of concurrent writes") {
  // Two concurrent writes; one reader sees 1 then 2, another 2 then 1: no single order fits.
  const std::vector<MapOperation> h{
      put(1, 0, 100, "x", "1", {}), put(2, 0, 100, "x", "2", V{}), get(3, 10, 20, "x", "1"),
      get(3, 30, 40, "x", "2"),     get(4, 10, 20, "x", "2"),      get(4, 30, 40, "x", "1"),
  };
  CHECK(check_map(h).verdict == Verdict::not_linearizable);
}

TEST_CASE("lin: compare_and_set - two winners from the same state are not linearizable") {
  const std::vector<MapOperation> h{put(1, 0, 1, "x", "0", {}),
                                    cas(2, 2, 10, "x", std::string("0"), "a", true),
                                    cas(3, 2, 10, "x", std::string("0"), "b", true)};
  CHECK(check_map(h).verdict == Verdict::not_linearizable);
  const std::vector<MapOperation> fine{put(1, 0, 1, "x", "0", {}),
                                       cas(2, 2, 10, "x", std::string("0"), "a", true),
                                       cas(3, 2, 10, "x", std::string("0"), "b", false)};
  CHECK(check_map(fine).verdict == Verdict::linearizable);
}

TEST_CASE("lin: an operation with an unknown outcome may or may not have happened") {
  MapOperation lost = put(1, 2, never, "x", "1", {});
  lost.known = false;
  CHECK(check_map({lost, get(2, 5, 6, "x", "1")}).verdict == Verdict::linearizable);
  CHECK(check_map({lost, get(2, 5, 6, "x", {})}).verdict == Verdict::linearizable);
  // But it cannot take effect before it was called.
  CHECK(check_map({get(2, 0, 1, "x", "1"), lost}).verdict == Verdict::not_linearizable);
}

TEST_CASE("lin: keys are independent") {
  const std::vector<MapOperation> h{put(1, 0, 10, "x", "1", {}), put(2, 0, 10, "y", "2", {}),
                                    get(3, 20, 30, "x", "1"), get(3, 20, 30, "y", "1")};
  auto r = check_map(h);
  CHECK(r.verdict == Verdict::not_linearizable);
  CHECK(r.failed_key == "y");
}

TEST_CASE("lin: counter - lost update and stale read detected") {
  // Two increments both return 1: a lost update.
  CHECK(check_counter({add(1, 0, 10, 1, 1), add(2, 0, 10, 1, 1)}).verdict ==
        Verdict::not_linearizable);
  CHECK(check_counter({add(1, 0, 10, 1, 1), add(2, 0, 10, 1, 2), read(3, 20, 21, 2)}).verdict ==
        Verdict::linearizable);
  CHECK(check_counter({add(1, 0, 10, 1, 1), add(2, 0, 10, 1, 2), read(3, 20, 21, 1)}).verdict ==
        Verdict::not_linearizable);
  // An increment that timed out may count or not.
  CounterOperation timed_out = add(1, 0, never, 1, 0);
  timed_out.known = false;
  CHECK(check_counter({timed_out, read(2, 5, 6, 1)}).verdict == Verdict::linearizable);
  CHECK(check_counter({timed_out, read(2, 5, 6, 0)}).verdict == Verdict::linearizable);
  CHECK(check_counter({timed_out, read(2, 5, 6, 2)}).verdict == Verdict::not_linearizable);
}

TEST_CASE("lin: the step budget gives unknown instead of running forever") {
  // 30 concurrent increments with unknown outcomes and a read of an impossible value: every
  // subset of the increments is a distinct state, so the search is exponential.
  std::vector<CounterOperation> h;
  for (int i = 0; i < 30; ++i) {
    h.push_back(add(i, 0, never, int64_t{1} << i, 0));
    h.back().known = false;
  }
  h.push_back(read(99, 10, 20, -1));
  auto r = check_counter(h, 1000);
  CHECK(r.verdict == Verdict::unknown);
}

TEST_CASE("lin: a history recorded from the counter service is linearizable") {
  // Clients with overlapping operations: each command is "applied" at a random instant
  // between its call and its return, in log order, as Raft would.
  std::mt19937_64 rng(3);
  CounterService s;
  std::vector<CounterOperation> h;
  struct Pending {
    CounterOperation op;
    int64_t apply_at;
  };
  std::vector<Pending> pending;
  for (int i = 0; i < 200; ++i) {
    CounterOperation op;
    op.client = i % 5;
    op.call = static_cast<int64_t>(rng() % 1000);
    op.ret = op.call + 1 + static_cast<int64_t>(rng() % 50);
    op.name = "c";
    op.kind = rng() % 3 == 0 ? CounterOpKind::get : CounterOpKind::add_and_get;
    op.arg = op.kind == CounterOpKind::add_and_get ? 1 + static_cast<int64_t>(rng() % 3) : 0;
    pending.push_back({op, op.call + static_cast<int64_t>(rng() % (op.ret - op.call))});
  }
  std::sort(pending.begin(), pending.end(),
            [](const Pending& a, const Pending& b) { return a.apply_at < b.apply_at; });
  uint64_t index = 0;
  for (auto& p : pending) {
    const Buffer cmd = p.op.kind == CounterOpKind::get ? counter_codec::get("c")
                                                       : counter_codec::add_and_get("c", p.op.arg);
    p.op.result = counter_codec::decode_value(s.apply(test::ctx_at(++index, 0), cmd)).value;
    h.push_back(p.op);
  }
  CHECK(check_counter(h).verdict == Verdict::linearizable);
  // Corrupt one read to a value the counter never had: now it is not.
  for (auto& op : h) {
    if (op.kind == CounterOpKind::get) {
      op.result = -1;
      break;
    }
  }
  CHECK(check_counter(h).verdict == Verdict::not_linearizable);
}
