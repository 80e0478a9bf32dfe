#include "stack/frame.hpp"

#include <fmt/format.h>

namespace cohort {

namespace {

void encode_message(codec::Writer& w, const Message& m) {
  w.varint(m.flags());
  w.varint(m.header_count());
  for (size_t i = 0; i < m.header_count(); ++i) {
    const auto& slot = m.header_at(i);
    w.u16(slot.id);
    // Length-prefix each header so a receiver can bound the decoder to exactly its bytes.
    codec::Writer hw;
    slot.header->encode(hw);
    w.bytes(hw.data());
  }
  w.bytes(m.payload().span());
}

}  // namespace

size_t encoded_message_size(const Message& m) {
  codec::Writer w;
  encode_message(w, m);
  return w.size();
}

void encode_frame(codec::Writer& w, std::string_view cluster, const Address& src,
                  const Address& dest, std::span<const Message> msgs) {
  w.u16(frame_magic);
  w.u8(frame_version);
  w.u8(dest.is_null() ? 0 : 1);
  w.str(cluster);
  src.encode(w);
  if (!dest.is_null()) dest.encode(w);
  w.varint(msgs.size());
  for (const auto& m : msgs)
    encode_message(w, m);
}

std::optional<DecodedFrame> decode_frame(const Buffer& frame, std::string& error,
                                         const FrameLimits& limits) {
  codec::Reader r(frame);
  auto fail = [&](std::string why) -> std::optional<DecodedFrame> {
    error = std::move(why);
    return std::nullopt;
  };
  if (r.u16() != frame_magic) return fail(r.ok() ? "bad magic" : r.error());
  uint8_t version = r.u8();
  if (r.ok() && version != frame_version)
    return fail(fmt::format("unsupported version {}", version));
  uint8_t flags = r.u8();
  if (r.ok() && (flags & ~1u)) return fail("unknown frame flags");
  DecodedFrame out;
  auto cluster = r.bytes_view();
  if (cluster.size() > 1024) return fail("cluster name too long");
  out.cluster.assign(reinterpret_cast<const char*>(cluster.data()), cluster.size());
  out.batch.src = Address::decode(r);
  if (flags & 1) out.batch.dest = Address::decode(r);
  // Every message takes at least 3 bytes (flags, header count, payload length).
  size_t count =
      r.varint_max(std::min(limits.max_messages, r.remaining() / 3), "message count beyond end");
  if (!r.ok()) return fail(r.error());
  if (count == 0) return fail("empty frame");
  out.batch.messages.reserve(count);
  auto& registry = HeaderRegistry::instance();
  for (size_t i = 0; i < count; ++i) {
    Message m;
    uint64_t mflags = r.varint_max(0xffff, "message flags out of range");
    m.flags(static_cast<uint16_t>(mflags));
    size_t nh = r.varint_max(Message::max_headers, "too many headers");
    for (size_t h = 0; h < nh && r.ok(); ++h) {
      uint16_t id = r.u16();
      auto bytes = r.bytes_view();
      if (!r.ok()) break;
      HeaderDecoder decode = registry.decoder(id);
      if (!decode) return fail(fmt::format("unknown header id {}", id));
      codec::Reader hr(bytes);
      HeaderPtr hp = decode(hr);
      if (!hr.ok() || !hp)
        return fail(
            fmt::format("bad {} header: {}", registry.name(id), hr.ok() ? "rejected" : hr.error()));
      if (!hr.at_end())
        return fail(fmt::format("bad {} header: trailing bytes", registry.name(id)));
      if (m.has_header(id)) return fail(fmt::format("duplicate {} header", registry.name(id)));
      m.put_header(id, std::move(hp));
    }
    Buffer payload = r.bytes();
    if (!r.ok()) return fail(r.error());
    m.payload(std::move(payload)).src(out.batch.src).dest(out.batch.dest);
    out.batch.messages.push_back(std::move(m));
  }
  if (!r.at_end()) return fail("trailing bytes after frame");
  return out;
}

}  // namespace cohort
