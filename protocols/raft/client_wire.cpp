#include "protocols/raft/client_wire.hpp"

#include "stack/codec.hpp"

namespace cohort::raft::wire {

Buffer encode(const Request& r) {
  codec::Writer w(16 + r.payload.size());
  w.u8(static_cast<uint8_t>(r.kind));
  w.varint(r.req_id);
  w.varint(r.timeout_ms);
  w.u8(static_cast<uint8_t>(r.mode));
  w.bytes(r.payload.span());
  return w.take_buffer();
}

Buffer encode(const Response& r) {
  codec::Writer w(24 + r.leader.size() + r.payload.size());
  w.u8(static_cast<uint8_t>(r.kind));
  w.varint(r.req_id);
  w.u8(r.error);
  w.varint(r.index);
  w.varint(r.commit_lag);
  w.varint(r.last_contact_ms);
  w.str(r.leader);
  w.bytes(r.payload.span());
  return w.take_buffer();
}

namespace {
template <class T>
std::optional<T> finish(codec::Reader& r, T value, std::string* error) {
  if (r.ok() && !r.at_end()) r.fail("trailing bytes");
  if (!r.ok()) {
    if (error) *error = r.error();
    return std::nullopt;
  }
  return value;
}
}  // namespace

std::optional<Request> decode_request(const Buffer& body, std::string* error) {
  codec::Reader r(body);
  Request q;
  uint8_t kind = r.u8();
  if (kind < 1 || kind > 4) r.fail("unknown request kind");
  q.kind = static_cast<RequestKind>(kind);
  q.req_id = r.varint();
  q.timeout_ms = r.varint();
  uint8_t mode = r.u8();
  if (mode > static_cast<uint8_t>(ReadMode::stale)) r.fail("unknown read mode");
  q.mode = static_cast<ReadMode>(mode);
  q.payload = r.bytes();
  return finish(r, std::move(q), error);
}

std::optional<Response> decode_response(const Buffer& body, std::string* error) {
  codec::Reader r(body);
  Response p;
  uint8_t kind = r.u8();
  if (kind < 1 || kind > 2) r.fail("unknown response kind");
  p.kind = static_cast<ResponseKind>(kind);
  p.req_id = r.varint();
  p.error = r.u8();
  p.index = r.varint();
  p.commit_lag = r.varint();
  p.last_contact_ms = r.varint();
  p.leader = r.str();
  if (p.leader.size() > 255) r.fail("leader name too long");
  p.payload = r.bytes();
  return finish(r, std::move(p), error);
}

Buffer encode_status(const RaftStatus& s) {
  codec::Writer w;
  w.str(s.raft_id);
  w.str(s.leader);
  w.varint(s.term);
  w.u8(static_cast<uint8_t>(s.role));
  w.varint(s.commit_index);
  w.varint(s.applied_index);
  w.varint(s.last_index);
  w.varint(s.durable_index);
  w.varint(s.voters.size());
  for (auto& v : s.voters)
    w.str(v);
  w.varint(s.learners.size());
  for (auto& v : s.learners)
    w.str(v);
  w.str(s.error);
  return w.take_buffer();
}

std::optional<RaftStatus> decode_status(const Buffer& b) {
  codec::Reader r(b);
  RaftStatus s;
  s.raft_id = r.str();
  s.leader = r.str();
  s.term = r.varint();
  uint8_t role = r.u8();
  if (role > static_cast<uint8_t>(Role::leader)) r.fail("bad role");
  s.role = static_cast<Role>(role);
  s.commit_index = r.varint();
  s.applied_index = r.varint();
  s.last_index = r.varint();
  s.durable_index = r.varint();
  size_t n = r.varint_max(1024, "too many voters");
  for (size_t i = 0; i < n && r.ok(); ++i)
    s.voters.push_back(r.str());
  n = r.varint_max(1024, "too many learners");
  for (size_t i = 0; i < n && r.ok(); ++i)
    s.learners.push_back(r.str());
  s.error = r.str();
  return finish(r, std::move(s), nullptr);
}

}  // namespace cohort::raft::wire
