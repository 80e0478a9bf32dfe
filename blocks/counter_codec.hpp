#pragma once
// The commands and results of CounterService (named int64 counters, JGroups' CounterService).
//
// Command (codec):  u8 op, str name (1..max_counter_name_bytes), then by op —
//   get                                   → svarint value
//   set                svarint value      → (empty)
//   add_and_get        svarint delta      → svarint new value
//   increment_and_get                     → svarint new value
//   decrement_and_get                     → svarint new value
//   compare_and_set    svarint expected,  → u8 swapped (0/1), svarint value after the call
//                      svarint new_value
//   remove                                → u8 existed (0/1)
// Nothing may follow. A counter that was never set reads as 0. Arithmetic wraps around in
// two's complement (like Java's AtomicLong), identically on every member.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "blocks/block_status.hpp"
#include "stack/buffer.hpp"

namespace cohort {

/// Longest counter name, in bytes.
inline constexpr size_t max_counter_name_bytes = 256;

enum class CounterOp : uint8_t {
  get = 1,
  set,
  add_and_get,
  increment_and_get,
  decrement_and_get,
  compare_and_set,
  remove,
};

struct CounterCommand {
  CounterOp op = CounterOp::get;
  std::string name;
  int64_t value = 0;     ///< set: the value; add_and_get: the delta; compare_and_set: new
  int64_t expected = 0;  ///< compare_and_set only

  friend bool operator==(const CounterCommand&, const CounterCommand&) = default;
};

/// compare_and_set's answer.
struct CasOutcome {
  bool swapped = false;
  int64_t value = 0;  ///< the counter after the call
};

namespace counter_codec {

Buffer get(std::string_view name);
Buffer set(std::string_view name, int64_t value);
Buffer add_and_get(std::string_view name, int64_t delta);
Buffer increment_and_get(std::string_view name);
Buffer decrement_and_get(std::string_view name);
Buffer compare_and_set(std::string_view name, int64_t expected, int64_t new_value);
Buffer remove(std::string_view name);
Buffer encode(const CounterCommand& c);
/// nullopt for anything malformed.
std::optional<CounterCommand> decode(const Buffer& in);

Buffer value_body(int64_t v);
Buffer cas_body(CasOutcome o);

/// Typed results: get / add_and_get / increment / decrement; compare_and_set; set; remove.
BlockReply<int64_t> decode_value(const Buffer& result);
BlockReply<CasOutcome> decode_cas(const Buffer& result);
BlockReply<bool> decode_empty(const Buffer& result);  ///< value true when ok
BlockReply<bool> decode_bool(const Buffer& result);

}  // namespace counter_codec
}  // namespace cohort
