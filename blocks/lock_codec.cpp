#include "blocks/lock_codec.hpp"

#include "stack/codec.hpp"

namespace cohort::lock_codec {

namespace {
constexpr uint8_t grant_kind = 1;
}

Buffer encode(const LockCommand& c) {
  codec::Writer w(8 + c.name.size());
  w.u8(static_cast<uint8_t>(c.op));
  w.str(c.name);
  return w.take_buffer();
}

std::optional<LockCommand> decode(const Buffer& in) {
  codec::Reader r(in);
  LockCommand c;
  const uint8_t op = r.u8();
  c.op = static_cast<LockOp>(op);
  c.name = r.str();
  if (!r.ok() || !r.at_end() || op < 1 || op > static_cast<uint8_t>(LockOp::holder) ||
      c.name.empty() || c.name.size() > max_lock_name_bytes)
    return std::nullopt;
  return c;
}

Buffer reply_body(const LockReply& rep) {
  codec::Writer w;
  w.u8(static_cast<uint8_t>(rep.outcome));
  w.varint(rep.token);
  w.varint(rep.position);
  return w.take_buffer();
}

Buffer info_body(const LockInfo& i) {
  codec::Writer w;
  w.u8(i.held ? 1 : 0);
  if (i.held) {
    w.varint(i.session_id);
    w.str(i.owner);
    w.varint(i.token);
  }
  w.varint(i.waiters);
  return w.take_buffer();
}

Buffer encode_grant(const LockGrant& g) {
  codec::Writer w;
  w.u8(grant_kind);
  w.str(g.name);
  w.varint(g.token);
  return w.take_buffer();
}

std::optional<LockGrant> decode_grant(const Buffer& payload) {
  codec::Reader r(payload);
  LockGrant g;
  const uint8_t kind = r.u8();
  g.name = r.str();
  g.token = r.varint();
  if (!r.ok() || !r.at_end() || kind != grant_kind || g.name.empty()) return std::nullopt;
  return g;
}

BlockReply<LockReply> decode_reply(const Buffer& result) {
  return cohort::decode_reply<LockReply>(
      result, [](const Buffer& body) -> std::optional<LockReply> {
        codec::Reader r(body);
        LockReply rep;
        const uint8_t outcome = r.u8();
        rep.token = r.varint();
        rep.position = r.varint();
        if (!r.ok() || !r.at_end() || outcome < 1 ||
            outcome > static_cast<uint8_t>(LockOutcome::not_waiting))
          return std::nullopt;
        rep.outcome = static_cast<LockOutcome>(outcome);
        return rep;
      });
}

BlockReply<bool> decode_unlock(const Buffer& result) {
  return decode_empty_result(result);
}

BlockReply<LockInfo> decode_info(const Buffer& result) {
  return cohort::decode_reply<LockInfo>(result, [](const Buffer& body) -> std::optional<LockInfo> {
    codec::Reader r(body);
    LockInfo i;
    const uint8_t held = r.u8();
    if (held > 1) return std::nullopt;
    i.held = held == 1;
    if (i.held) {
      i.session_id = r.varint();
      i.owner = r.str();
      i.token = r.varint();
    }
    i.waiters = r.varint();
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return i;
  });
}

}  // namespace cohort::lock_codec
