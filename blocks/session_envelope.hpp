#pragma once
// The session envelope: how every command reaches a SessionStateMachine (thesis §6.3).
//
// Wire format (codec, DESIGN.md §4), one envelope per log entry, nothing after it:
//   u8     kind         1 open_session | 2 keep_alive | 3 command | 4 close_session
//   varint session_id   0 for open_session; 0 for a session-less command (no exactly-once)
//   varint sequence     command: the client's sequence number, from 1; otherwise 0
//   varint acked_seq    the client has the results of every sequence <= acked_seq, so the
//                       machine may drop them (bounded memory); monotone per session
//   bytes  payload      open_session: the owner's name (<= max_owner_bytes);
//                       command: the wrapped machine's command; otherwise empty
// Results (see block_status.hpp): open_session → ok + varint session id (the log index of the
// open entry); keep_alive / close_session → ok, empty body; command → the wrapped machine's
// result, or a session error.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "stack/buffer.hpp"

namespace cohort {

enum class EnvelopeKind : uint8_t {
  open_session = 1,
  keep_alive = 2,
  command = 3,
  close_session = 4,
};

/// Longest owner name accepted in open_session, in bytes.
inline constexpr size_t max_owner_bytes = 256;

struct Envelope {
  EnvelopeKind kind = EnvelopeKind::command;
  uint64_t session_id = 0;
  uint64_t sequence = 0;
  uint64_t acked_seq = 0;
  Buffer payload;

  static Envelope open_session(std::string_view owner);
  static Envelope keep_alive(uint64_t session_id, uint64_t acked_seq);
  static Envelope command(uint64_t session_id, uint64_t sequence, uint64_t acked_seq,
                          Buffer payload);
  /// A command outside any session: applied every time it is submitted (no deduplication).
  static Envelope sessionless(Buffer payload) { return command(0, 0, 0, std::move(payload)); }
  static Envelope close_session(uint64_t session_id);

  friend bool operator==(const Envelope&, const Envelope&) = default;
};

Buffer encode(const Envelope& e);
/// Decodes and validates one envelope: nullopt (with *error set, if given) for a truncated,
/// oversized or trailing-garbage input, an unknown kind, a command with a session but
/// sequence 0, or fields that do not belong to the kind.
std::optional<Envelope> decode_envelope(const Buffer& in, std::string* error = nullptr);

/// Decodes the body of a successful open_session result: the new session id.
std::optional<uint64_t> decode_session_id(const Buffer& body);

}  // namespace cohort
