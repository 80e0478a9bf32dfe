#pragma once
// The one result convention of every block: a result Buffer is a status byte followed by a
// body. Status ok → the body is the operation's answer (decoded by that block's codec); any
// other status → a typed error and the body is empty. Decorators (SessionStateMachine,
// ServiceRegistry) pass their inner machine's result through unchanged and return their own
// errors in the same form, so a client decodes every result the same way, once.
#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "stack/buffer.hpp"

namespace cohort {

/// Operating errors of the building blocks: values returned to the submitter, never crashes.
/// The numbers are on the wire: append, never renumber.
enum class BlockStatus : uint8_t {
  ok = 0,
  malformed = 1,           ///< the command or query did not decode; nothing was applied
  unknown_service = 2,     ///< ServiceRegistry has no service of that name
  session_expired = 3,     ///< unknown, closed or expired session (open a new one)
  stale_sequence = 4,      ///< sequence at or below acked_seq whose result was already dropped
  session_required = 5,    ///< the operation needs a client session (locks)
  too_many_sessions = 6,   ///< SessionConfig::max_sessions reached; open rejected
  session_cache_full = 7,  ///< SessionConfig::max_results_per_session reached; not applied
  not_holder = 8,          ///< unlock by a session that does not hold the lock
  write_in_query = 9,      ///< a modifying operation sent as a read-only query
};

/// The enumerator's name ("session_expired"); "unknown" for values outside the enum.
std::string_view to_string(BlockStatus s);

/// A decoded result: status plus body (empty unless ok).
struct BlockResult {
  BlockStatus status = BlockStatus::malformed;
  Buffer body;
  bool ok() const { return status == BlockStatus::ok; }
};

/// A decoded, typed result (what the client side of a block returns): the value is meaningful
/// only when ok(). A body that does not decode as T gives status malformed.
template <class T>
struct BlockReply {
  BlockStatus status = BlockStatus::malformed;
  T value{};
  bool ok() const { return status == BlockStatus::ok; }
};

/// Encodes status + body (body is ignored unless status is ok).
Buffer make_result(BlockStatus status, const Buffer& body = {});
/// Splits a result. An empty buffer or an unknown status byte decodes as malformed.
BlockResult parse_result(const Buffer& result);

/// A one-byte boolean body (0/1), shared by the blocks' codecs.
Buffer bool_body(bool b);
/// Decodes a result whose body is a boolean byte.
BlockReply<bool> decode_bool_result(const Buffer& result);
/// Decodes a result with an empty body (value true when ok).
BlockReply<bool> decode_empty_result(const Buffer& result);

/// Parses a result and decodes its body with `decode_body(const Buffer&) -> std::optional<T>`.
template <class T, class DecodeBody>
BlockReply<T> decode_reply(const Buffer& result, DecodeBody&& decode_body) {
  BlockReply<T> reply;
  BlockResult r = parse_result(result);
  reply.status = r.status;
  if (!r.ok()) return reply;
  auto value = decode_body(r.body);
  if (!value) {
    reply.status = BlockStatus::malformed;
    return reply;
  }
  reply.value = std::move(*value);
  return reply;
}

}  // namespace cohort
