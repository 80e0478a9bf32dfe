#include "blocks/counter_codec.hpp"

#include "stack/codec.hpp"

namespace cohort::counter_codec {

Buffer encode(const CounterCommand& c) {
  codec::Writer w(16 + c.name.size());
  w.u8(static_cast<uint8_t>(c.op));
  w.str(c.name);
  switch (c.op) {
    case CounterOp::set:
    case CounterOp::add_and_get:
      w.svarint(c.value);
      break;
    case CounterOp::compare_and_set:
      w.svarint(c.expected);
      w.svarint(c.value);
      break;
    default:
      break;
  }
  return w.take_buffer();
}

Buffer get(std::string_view name) {
  return encode({CounterOp::get, std::string(name)});
}
Buffer set(std::string_view name, int64_t value) {
  return encode({CounterOp::set, std::string(name), value});
}
Buffer add_and_get(std::string_view name, int64_t delta) {
  return encode({CounterOp::add_and_get, std::string(name), delta});
}
Buffer increment_and_get(std::string_view name) {
  return encode({CounterOp::increment_and_get, std::string(name)});
}
Buffer decrement_and_get(std::string_view name) {
  return encode({CounterOp::decrement_and_get, std::string(name)});
}
Buffer compare_and_set(std::string_view name, int64_t expected, int64_t new_value) {
  return encode({CounterOp::compare_and_set, std::string(name), new_value, expected});
}
Buffer remove(std::string_view name) {
  return encode({CounterOp::remove, std::string(name)});
}

std::optional<CounterCommand> decode(const Buffer& in) {
  codec::Reader r(in);
  CounterCommand c;
  const uint8_t op = r.u8();
  if (op < 1 || op > static_cast<uint8_t>(CounterOp::remove)) return std::nullopt;
  c.op = static_cast<CounterOp>(op);
  c.name = r.str();
  switch (c.op) {
    case CounterOp::set:
    case CounterOp::add_and_get:
      c.value = r.svarint();
      break;
    case CounterOp::compare_and_set:
      c.expected = r.svarint();
      c.value = r.svarint();
      break;
    default:
      break;
  }
  if (!r.ok() || !r.at_end() || c.name.empty() || c.name.size() > max_counter_name_bytes)
    return std::nullopt;
  return c;
}

Buffer value_body(int64_t v) {
  codec::Writer w;
  w.svarint(v);
  return w.take_buffer();
}

Buffer cas_body(CasOutcome o) {
  codec::Writer w;
  w.u8(o.swapped ? 1 : 0);
  w.svarint(o.value);
  return w.take_buffer();
}

BlockReply<int64_t> decode_value(const Buffer& result) {
  return decode_reply<int64_t>(result, [](const Buffer& body) -> std::optional<int64_t> {
    codec::Reader r(body);
    int64_t v = r.svarint();
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return v;
  });
}

BlockReply<CasOutcome> decode_cas(const Buffer& result) {
  return decode_reply<CasOutcome>(result, [](const Buffer& body) -> std::optional<CasOutcome> {
    codec::Reader r(body);
    CasOutcome o;
    const uint8_t swapped = r.u8();
    o.value = r.svarint();
    if (!r.ok() || !r.at_end() || swapped > 1) return std::nullopt;
    o.swapped = swapped == 1;
    return o;
  });
}

BlockReply<bool> decode_empty(const Buffer& result) {
  return decode_empty_result(result);
}

BlockReply<bool> decode_bool(const Buffer& result) {
  return decode_bool_result(result);
}

}  // namespace cohort::counter_codec
