// ServiceRegistry: routing by name, unknown services and malformed wrappers, queries,
// notifications tagged with the service, and all-or-nothing restore.
#include <doctest/doctest.h>

#include "blocks_test_util.hpp"

using namespace cohort;
using test::ctx_at;
namespace cc = cohort::counter_codec;

namespace {

// A user machine that records what it was given.
struct Recorder : StateMachine {
  std::vector<std::string> applied;
  Buffer apply(const ApplyContext&, const Buffer& command) override {
    applied.push_back(command.str());
    return make_result(BlockStatus::ok, Buffer::copy_of("done:" + command.str()));
  }
  Buffer query(const Buffer& q) const override {
    return make_result(BlockStatus::ok, Buffer::copy_of("q:" + q.str()));
  }
  Buffer snapshot() const override { return Buffer::copy_of(std::to_string(applied.size())); }
  void restore(const Buffer& s) override {
    if (s.str() == "bad") throw SnapshotError("bad");
    applied.assign(std::stoul(s.str()), "?");
  }
};

}  // namespace

TEST_CASE("registry: commands and queries reach the named service") {
  ServiceRegistry r;
  auto& counters = r.add("counter", std::make_unique<CounterService>());
  auto& user = r.add("user", std::make_unique<Recorder>());
  CHECK(r.find("counter") == &counters);
  CHECK(r.find("nope") == nullptr);

  auto res = r.apply(ctx_at(1, 0), ServiceRegistry::wrap("counter", cc::add_and_get("c", 4)));
  CHECK(cc::decode_value(res).value == 4);
  res = r.apply(ctx_at(2, 0), ServiceRegistry::wrap("user", Buffer::copy_of("hello")));
  CHECK(parse_result(res).body.str() == "done:hello");
  CHECK(user.applied == std::vector<std::string>{"hello"});
  CHECK(parse_result(r.query(ServiceRegistry::wrap("user", Buffer::copy_of("x")))).body.str() ==
        "q:x");
  CHECK(cc::decode_value(r.query(ServiceRegistry::wrap("counter", cc::get("c")))).value == 4);
}

TEST_CASE("registry: unknown services and malformed wrappers are typed errors") {
  ServiceRegistry r;
  r.add("counter", std::make_unique<CounterService>());
  CHECK(parse_result(r.apply(ctx_at(1, 0), ServiceRegistry::wrap("nope", cc::get("c")))).status ==
        BlockStatus::unknown_service);
  CHECK(parse_result(r.query(ServiceRegistry::wrap("nope", cc::get("c")))).status ==
        BlockStatus::unknown_service);
  const Buffer full = ServiceRegistry::wrap("counter", cc::get("c"));
  // Cutting into the name is malformed; cutting the payload is the service's business.
  for (size_t n = 0; n < 1 + std::string("counter").size(); ++n)
    CHECK(parse_result(r.apply(ctx_at(2, 0), Buffer::copy_of(full.span().first(n)))).status ==
          BlockStatus::malformed);
  CHECK(parse_result(r.apply(ctx_at(3, 0), ServiceRegistry::wrap("", cc::get("c")))).status ==
        BlockStatus::malformed);
}

TEST_CASE("registry: restore is all or nothing") {
  ServiceRegistry a;
  a.add("counter", std::make_unique<CounterService>());
  a.add("user", std::make_unique<Recorder>());
  a.apply(ctx_at(1, 0), ServiceRegistry::wrap("counter", cc::set("c", 1)));
  a.apply(ctx_at(2, 0), ServiceRegistry::wrap("user", Buffer::copy_of("x")));

  ServiceRegistry b;
  auto& counters = b.add("counter", std::make_unique<CounterService>());
  b.add("user", std::make_unique<Recorder>());
  b.restore(a.snapshot());
  CHECK(b.snapshot() == a.snapshot());
  CHECK(counters.value("c") == 1);

  // The counter part restores, then the user part throws: the counter part is rolled back.
  codec::Writer w;
  w.varint(2);
  w.str("counter");
  CounterService other;
  other.apply(ctx_at(1, 0), cc::set("c", 99));
  w.bytes(other.snapshot().span());
  w.str("user");
  w.str("bad");
  const Buffer before = b.snapshot();
  CHECK_THROWS_AS(b.restore(w.take_buffer()), SnapshotError);
  CHECK(b.snapshot() == before);
  CHECK(counters.value("c") == 1);

  // A snapshot naming other services is refused.
  ServiceRegistry c;
  c.add("counter", std::make_unique<CounterService>());
  CHECK_THROWS_AS(c.restore(a.snapshot()), SnapshotError);
}
