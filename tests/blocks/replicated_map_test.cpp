// ReplicatedMap<K, V>: every operation's result, change listeners, queries, typed codecs,
// malformed commands, snapshot round trips, and non-string types through Boost.Serialization.
#include <doctest/doctest.h>

#include <boost/serialization/utility.hpp>
#include <boost/serialization/vector.hpp>

#include "blocks_test_util.hpp"

using namespace cohort;
using test::ctx_at;
using test::StringMap;

namespace {

struct Point {
  int x = 0;
  int y = 0;
  template <class Archive>
  void serialize(Archive& ar, unsigned /*version*/) {
    ar& x& y;
  }
  friend bool operator==(const Point&, const Point&) = default;
};

}  // namespace

TEST_CASE("map: put get remove compare_and_set size contains") {
  StringMap m;
  using C = StringMap::Codec;
  uint64_t i = 0;
  auto run = [&](const Buffer& c) { return m.apply(ctx_at(++i, 0), c); };

  CHECK(C::decode_value(run(C::put("k", "v1"))).value == std::nullopt);
  CHECK(C::decode_value(run(C::put("k", "v2"))).value == std::optional<std::string>("v1"));
  CHECK(C::decode_value(run(C::get("k"))).value == std::optional<std::string>("v2"));
  CHECK(C::decode_value(run(C::get("nope"))).value == std::nullopt);
  CHECK(C::decode_size(run(C::size())).value == 1);
  CHECK(C::decode_bool(run(C::contains("k"))).value);
  CHECK_FALSE(C::decode_bool(run(C::contains("nope"))).value);

  CHECK_FALSE(C::decode_bool(run(C::compare_and_set("k", std::string("v1"), "v3"))).value);
  CHECK(m.get("k") == "v2");
  CHECK(C::decode_bool(run(C::compare_and_set("k", std::string("v2"), "v3"))).value);
  CHECK(m.get("k") == "v3");
  // compare_and_set with no expected value: put-if-absent.
  CHECK_FALSE(C::decode_bool(run(C::compare_and_set("k", std::nullopt, "x"))).value);
  CHECK(C::decode_bool(run(C::compare_and_set("new", std::nullopt, "x"))).value);
  CHECK(m.get("new") == "x");

  CHECK(C::decode_value(run(C::remove("k"))).value == std::optional<std::string>("v3"));
  CHECK(C::decode_value(run(C::remove("k"))).value == std::nullopt);
  CHECK(m.size() == 1);
}

TEST_CASE("map: change listeners see key and old and new on every applied change") {
  StringMap m;
  using C = StringMap::Codec;
  std::vector<std::string> seen;
  const uint64_t id = m.add_listener([&](const std::string& k, const std::optional<std::string>& o,
                                         const std::optional<std::string>& n) {
    seen.push_back(k + ":" + o.value_or("-") + ">" + n.value_or("-"));
  });
  uint64_t i = 0;
  auto run = [&](const Buffer& c) { return m.apply(ctx_at(++i, 0), c); };
  run(C::put("a", "1"));
  run(C::put("a", "2"));
  run(C::get("a"));
  run(C::compare_and_set("a", std::string("9"), "3"));  // fails: no change
  run(C::compare_and_set("a", std::string("2"), "3"));
  run(C::remove("zzz"));  // absent: no change
  run(C::remove("a"));
  CHECK(seen == std::vector<std::string>{"a:->1", "a:1>2", "a:2>3", "a:3>-"});
  m.remove_listener(id);
  run(C::put("b", "1"));
  CHECK(seen.size() == 4);
}

TEST_CASE("map: queries answer reads and refuse writes") {
  StringMap m;
  using C = StringMap::Codec;
  m.apply(ctx_at(1, 0), C::put("k", "v"));
  CHECK(C::decode_value(m.query(C::get("k"))).value == std::optional<std::string>("v"));
  CHECK(C::decode_size(m.query(C::size())).value == 1);
  CHECK(parse_result(m.query(C::put("k", "w"))).status == BlockStatus::write_in_query);
  CHECK(parse_result(m.query(C::remove("k"))).status == BlockStatus::write_in_query);
  CHECK(m.get("k") == "v");
}

TEST_CASE("map: malformed commands are rejected and change nothing") {
  StringMap m;
  using C = StringMap::Codec;
  m.apply(ctx_at(1, 0), C::put("k", "v"));
  const Buffer before = m.snapshot();
  uint64_t i = 1;
  for (const Buffer& full :
       {C::put("key", "value"), C::compare_and_set("k", std::string("v"), "w"), C::remove("k")}) {
    for (const auto& prefix : test::strict_prefixes(full))
      CHECK(parse_result(m.apply(ctx_at(++i, 0), prefix)).status == BlockStatus::malformed);
  }
  CHECK(parse_result(m.apply(ctx_at(++i, 0), Buffer::copy_of("\x09"))).status ==
        BlockStatus::malformed);
  CHECK(m.snapshot() == before);
}

TEST_CASE("map: snapshot and restore round trip with equal bytes") {
  StringMap a;
  using C = StringMap::Codec;
  for (int i = 0; i < 50; ++i)
    a.apply(ctx_at(i + 1, 0), C::put("k" + std::to_string(i * 7 % 50), std::to_string(i)));
  StringMap b;
  b.restore(a.snapshot());
  CHECK(b.snapshot() == a.snapshot());
  CHECK(b.entries() == a.entries());
  CHECK_THROWS_AS(b.restore(Buffer::copy_of("\x01\x05zz")), SnapshotError);
  CHECK(b.entries() == a.entries());
}

TEST_CASE("map: any Boost.Serialization type works as key and value") {
  using M = ReplicatedMap<std::pair<int, std::string>, std::vector<Point>>;
  M m;
  const auto key = std::make_pair(7, std::string("seven"));
  const std::vector<Point> value{{1, 2}, {3, 4}};
  CHECK(M::Codec::decode_value(m.apply(ctx_at(1, 0), M::Codec::put(key, value))).ok());
  auto got = M::Codec::decode_value(m.apply(ctx_at(2, 0), M::Codec::get(key)));
  REQUIRE(got.ok());
  CHECK(got.value == value);
  M copy;
  copy.restore(m.snapshot());
  CHECK(copy.get(key) == value);
}

TEST_CASE("map: a forged huge length in a key is refused before allocating") {
  StringMap m;
  for (const uint64_t length : {uint64_t{1} << 40, uint64_t{1} << 62, ~uint64_t{0}, uint64_t{3}}) {
    CAPTURE(length);
    codec::Writer forged_key;
    forged_key.u64(length);  // Boost's size_t length prefix, then far fewer bytes
    forged_key.raw(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>("ab"), 2));
    codec::Writer w;
    w.u8(static_cast<uint8_t>(MapOp::put));
    w.bytes(forged_key.data());
    w.str(to_bytes(std::string("v")));
    CHECK(parse_result(m.apply(ctx_at(1, 0), w.take_buffer())).status == BlockStatus::malformed);
  }
  CHECK_FALSE(
      from_bytes<std::vector<int>>(Buffer::copy_of("\xff\xff\xff\xff\xff\xff\xff\x7f").span()));
  CHECK(m.size() == 0);
}
