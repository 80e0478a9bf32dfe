#include "blocks/counter_service.hpp"

#include "stack/codec.hpp"

namespace cohort {

namespace {
constexpr uint8_t snapshot_version = 1;
constexpr uint64_t max_decoded_counters = 1u << 26;

// Two's-complement wrap-around without signed-overflow UB.
int64_t wrapping_add(int64_t a, int64_t b) {
  return static_cast<int64_t>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
}
}  // namespace

int64_t CounterService::value(std::string_view name) const {
  auto it = counters_.find(name);
  return it == counters_.end() ? 0 : it->second;
}

Buffer CounterService::apply(const ApplyContext& /*ctx*/, const Buffer& command) {
  auto c = counter_codec::decode(command);
  if (!c) return make_result(BlockStatus::malformed);
  auto add = [&](int64_t delta) {
    int64_t& v = counters_[c->name];
    v = wrapping_add(v, delta);
    return make_result(BlockStatus::ok, counter_codec::value_body(v));
  };
  switch (c->op) {
    case CounterOp::get:
      return make_result(BlockStatus::ok, counter_codec::value_body(value(c->name)));
    case CounterOp::set:
      counters_[c->name] = c->value;
      return make_result(BlockStatus::ok);
    case CounterOp::add_and_get:
      return add(c->value);
    case CounterOp::increment_and_get:
      return add(1);
    case CounterOp::decrement_and_get:
      return add(-1);
    case CounterOp::compare_and_set: {
      CasOutcome o{false, value(c->name)};
      if (o.value == c->expected) {
        counters_[c->name] = c->value;
        o = {true, c->value};
      }
      return make_result(BlockStatus::ok, counter_codec::cas_body(o));
    }
    case CounterOp::remove:
      return make_result(BlockStatus::ok, bool_body(counters_.erase(c->name) > 0));
  }
  return make_result(BlockStatus::malformed);
}

Buffer CounterService::query(const Buffer& query) const {
  auto c = counter_codec::decode(query);
  if (!c) return make_result(BlockStatus::malformed);
  if (c->op != CounterOp::get) return make_result(BlockStatus::write_in_query);
  return make_result(BlockStatus::ok, counter_codec::value_body(value(c->name)));
}

Buffer CounterService::snapshot() const {
  codec::Writer w;
  w.u8(snapshot_version);
  w.varint(counters_.size());
  for (const auto& [name, v] : counters_) {
    w.str(name);
    w.svarint(v);
  }
  return w.take_buffer();
}

void CounterService::restore(const Buffer& snapshot) {
  codec::Reader r(snapshot);
  if (r.u8() != snapshot_version) throw SnapshotError("counter snapshot: bad version");
  std::map<std::string, int64_t, std::less<>> counters;
  const uint64_t n = r.varint_max(max_decoded_counters, "too many counters");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    std::string name = r.str();
    const int64_t v = r.svarint();
    if (r.ok() && !counters.emplace(std::move(name), v).second) r.fail("repeated counter");
  }
  if (!r.ok() || !r.at_end()) throw SnapshotError("counter snapshot: malformed");
  counters_ = std::move(counters);
}

}  // namespace cohort
