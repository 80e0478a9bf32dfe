// CounterService: every operation, wrap-around, queries, malformed commands, snapshots.
#include <doctest/doctest.h>

#include <limits>

#include "blocks_test_util.hpp"

using namespace cohort;
using test::ctx_at;
namespace cc = cohort::counter_codec;

TEST_CASE("counter: get set add increment decrement compare_and_set remove") {
  CounterService s;
  uint64_t i = 0;
  auto run = [&](const Buffer& c) { return s.apply(ctx_at(++i, 0), c); };
  CHECK(cc::decode_value(run(cc::get("c"))).value == 0);
  CHECK(s.counters().empty());  // reading does not create
  CHECK(cc::decode_empty(run(cc::set("c", 10))).ok());
  CHECK(cc::decode_value(run(cc::add_and_get("c", 5))).value == 15);
  CHECK(cc::decode_value(run(cc::add_and_get("c", -20))).value == -5);
  CHECK(cc::decode_value(run(cc::increment_and_get("c"))).value == -4);
  CHECK(cc::decode_value(run(cc::decrement_and_get("c"))).value == -5);
  CHECK(cc::decode_value(run(cc::increment_and_get("other"))).value == 1);

  auto cas = cc::decode_cas(run(cc::compare_and_set("c", 0, 100)));
  CHECK_FALSE(cas.value.swapped);
  CHECK(cas.value.value == -5);
  cas = cc::decode_cas(run(cc::compare_and_set("c", -5, 100)));
  CHECK(cas.value.swapped);
  CHECK(cas.value.value == 100);
  CHECK(s.value("c") == 100);

  CHECK(cc::decode_bool(run(cc::remove("c"))).value);
  CHECK_FALSE(cc::decode_bool(run(cc::remove("c"))).value);
  CHECK(s.value("c") == 0);
}

TEST_CASE("counter: arithmetic wraps around like AtomicLong") {
  CounterService s;
  constexpr int64_t max = std::numeric_limits<int64_t>::max();
  s.apply(ctx_at(1, 0), cc::set("c", max));
  CHECK(cc::decode_value(s.apply(ctx_at(2, 0), cc::increment_and_get("c"))).value ==
        std::numeric_limits<int64_t>::min());
}

TEST_CASE("counter: queries answer get and refuse writes") {
  CounterService s;
  s.apply(ctx_at(1, 0), cc::set("c", 3));
  CHECK(cc::decode_value(s.query(cc::get("c"))).value == 3);
  CHECK(parse_result(s.query(cc::increment_and_get("c"))).status == BlockStatus::write_in_query);
  CHECK(s.value("c") == 3);
}

TEST_CASE("counter: command codec round trip and malformed input") {
  const CounterCommand all[] = {
      {CounterOp::get, "a"},
      {CounterOp::set, "b", -7},
      {CounterOp::add_and_get, "c", std::numeric_limits<int64_t>::min()},
      {CounterOp::increment_and_get, "d"},
      {CounterOp::decrement_and_get, "e"},
      {CounterOp::compare_and_set, "f", 9, -9},
      {CounterOp::remove, "g"},
  };
  CounterService s;
  const Buffer before = s.snapshot();
  uint64_t i = 0;
  for (const auto& c : all) {
    const Buffer b = cc::encode(c);
    CHECK(cc::decode(b) == c);
    for (const auto& prefix : test::strict_prefixes(b)) {
      CHECK_FALSE(cc::decode(prefix).has_value());
      CHECK(parse_result(s.apply(ctx_at(++i, 0), prefix)).status == BlockStatus::malformed);
    }
  }
  CHECK_FALSE(cc::decode(cc::get("")).has_value());
  CHECK_FALSE(cc::decode(cc::get(std::string(max_counter_name_bytes + 1, 'n'))).has_value());
  CHECK(s.snapshot() == before);
}

TEST_CASE("counter: snapshot and restore round trip") {
  CounterService a;
  for (int i = 0; i < 20; ++i)
    a.apply(ctx_at(i + 1, 0), cc::add_and_get("c" + std::to_string(i % 7), i - 10));
  CounterService b;
  b.restore(a.snapshot());
  CHECK(b.snapshot() == a.snapshot());
  CHECK(b.counters() == a.counters());
  for (const auto& prefix : test::strict_prefixes(a.snapshot()))
    CHECK_THROWS_AS(b.restore(prefix), SnapshotError);
  CHECK(b.counters() == a.counters());
}
