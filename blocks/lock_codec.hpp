#pragma once
// The commands, results and grant notifications of LockService.
//
// Command (codec):  u8 op, str name (1..max_lock_name_bytes); nothing follows.
//   lock      → LockReply: acquired{token} | queued{position}
//   try_lock  → LockReply: acquired{token} | busy | queued{position} (already waiting)
//   unlock    → (empty); not_holder if the session does not hold the lock
//   cancel    → LockReply: cancelled | not_waiting | acquired{token} (granted before the
//               cancel was applied: the caller holds the lock and must unlock it)
//   holder    → LockInfo (read-only; also allowed as a query)
// Every op but holder needs a client session (session_required otherwise).
//
// LockReply body:  u8 outcome, varint token (acquired only, else 0), varint position (queued
//                  only: 1 = next in line, else 0).
// LockInfo body:   u8 held (0/1), [varint session, str owner, varint token if held],
//                  varint waiters.
// Grant notification payload (Notification::payload, to the waiter's session):
//                  u8 1 (granted), str name, varint token.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "blocks/block_status.hpp"
#include "stack/buffer.hpp"

namespace cohort {

/// Longest lock name, in bytes.
inline constexpr size_t max_lock_name_bytes = 256;

enum class LockOp : uint8_t { lock = 1, try_lock, unlock, cancel, holder };

struct LockCommand {
  LockOp op = LockOp::lock;
  std::string name;
  friend bool operator==(const LockCommand&, const LockCommand&) = default;
};

enum class LockOutcome : uint8_t { acquired = 1, queued, busy, cancelled, not_waiting };

struct LockReply {
  LockOutcome outcome = LockOutcome::busy;
  uint64_t token = 0;     ///< fencing token, when acquired
  uint64_t position = 0;  ///< place in the wait queue (1 = next), when queued
  friend bool operator==(const LockReply&, const LockReply&) = default;
};

struct LockInfo {
  bool held = false;
  uint64_t session_id = 0;
  std::string owner;
  uint64_t token = 0;
  uint64_t waiters = 0;
  friend bool operator==(const LockInfo&, const LockInfo&) = default;
};

/// A lock granted to a waiter while applying someone else's entry.
struct LockGrant {
  std::string name;
  uint64_t token = 0;
  friend bool operator==(const LockGrant&, const LockGrant&) = default;
};

namespace lock_codec {

Buffer encode(const LockCommand& c);
inline Buffer lock(std::string_view name) {
  return encode({LockOp::lock, std::string(name)});
}
inline Buffer try_lock(std::string_view name) {
  return encode({LockOp::try_lock, std::string(name)});
}
inline Buffer unlock(std::string_view name) {
  return encode({LockOp::unlock, std::string(name)});
}
inline Buffer cancel(std::string_view name) {
  return encode({LockOp::cancel, std::string(name)});
}
inline Buffer holder(std::string_view name) {
  return encode({LockOp::holder, std::string(name)});
}
/// nullopt for anything malformed.
std::optional<LockCommand> decode(const Buffer& in);

Buffer reply_body(const LockReply& r);
Buffer info_body(const LockInfo& i);
Buffer encode_grant(const LockGrant& g);
std::optional<LockGrant> decode_grant(const Buffer& payload);

/// Typed results: lock / try_lock / cancel; unlock (value true when ok); holder.
BlockReply<LockReply> decode_reply(const Buffer& result);
BlockReply<bool> decode_unlock(const Buffer& result);
BlockReply<LockInfo> decode_info(const Buffer& result);

}  // namespace lock_codec
}  // namespace cohort
