#include "blocks/session_envelope.hpp"

#include "stack/codec.hpp"

namespace cohort {

Envelope Envelope::open_session(std::string_view owner) {
  Envelope e;
  e.kind = EnvelopeKind::open_session;
  e.payload = Buffer::copy_of(owner);
  return e;
}

Envelope Envelope::keep_alive(uint64_t session_id, uint64_t acked_seq) {
  Envelope e;
  e.kind = EnvelopeKind::keep_alive;
  e.session_id = session_id;
  e.acked_seq = acked_seq;
  return e;
}

Envelope Envelope::command(uint64_t session_id, uint64_t sequence, uint64_t acked_seq,
                           Buffer payload) {
  Envelope e;
  e.kind = EnvelopeKind::command;
  e.session_id = session_id;
  e.sequence = sequence;
  e.acked_seq = acked_seq;
  e.payload = std::move(payload);
  return e;
}

Envelope Envelope::close_session(uint64_t session_id) {
  Envelope e;
  e.kind = EnvelopeKind::close_session;
  e.session_id = session_id;
  return e;
}

Buffer encode(const Envelope& e) {
  codec::Writer w(16 + e.payload.size());
  w.u8(static_cast<uint8_t>(e.kind));
  w.varint(e.session_id);
  w.varint(e.sequence);
  w.varint(e.acked_seq);
  w.bytes(e.payload.span());
  return w.take_buffer();
}

namespace {

// Which fields each kind may carry; anything else is a malformed envelope.
const char* validate(const Envelope& e) {
  switch (e.kind) {
    case EnvelopeKind::open_session:
      if (e.session_id != 0 || e.sequence != 0 || e.acked_seq != 0)
        return "open_session with session fields";
      if (e.payload.size() > max_owner_bytes) return "owner name too long";
      return nullptr;
    case EnvelopeKind::keep_alive:
      if (e.session_id == 0) return "keep_alive without session";
      if (e.sequence != 0 || !e.payload.empty()) return "keep_alive with command fields";
      return nullptr;
    case EnvelopeKind::command:
      if (e.session_id == 0) {
        if (e.sequence != 0 || e.acked_seq != 0) return "sequence without session";
      } else if (e.sequence == 0) {
        return "session command with sequence 0";
      }
      return nullptr;
    case EnvelopeKind::close_session:
      if (e.session_id == 0) return "close_session without session";
      if (e.sequence != 0 || e.acked_seq != 0 || !e.payload.empty())
        return "close_session with command fields";
      return nullptr;
  }
  return "unknown envelope kind";
}

}  // namespace

std::optional<Envelope> decode_envelope(const Buffer& in, std::string* error) {
  codec::Reader r(in);
  Envelope e;
  const uint8_t kind = r.u8();
  e.kind = static_cast<EnvelopeKind>(kind);
  e.session_id = r.varint();
  e.sequence = r.varint();
  e.acked_seq = r.varint();
  e.payload = r.bytes();
  const char* why = nullptr;
  if (!r.ok())
    why = r.error();
  else if (!r.at_end())
    why = "trailing bytes after envelope";
  else if (kind < 1 || kind > 4)
    why = "unknown envelope kind";
  else
    why = validate(e);
  if (why) {
    if (error) *error = why;
    return std::nullopt;
  }
  return e;
}

std::optional<uint64_t> decode_session_id(const Buffer& body) {
  codec::Reader r(body);
  const uint64_t id = r.varint();
  if (!r.ok() || !r.at_end() || id == 0) return std::nullopt;
  return id;
}

}  // namespace cohort
