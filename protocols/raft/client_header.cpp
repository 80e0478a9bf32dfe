#include "protocols/raft/client_header.hpp"

#include <memory>

#include "protocols/raft/client_errors.hpp"

namespace cohort::raft {

void ClientHeader::encode(codec::Writer& w) const {
  w.u8(type);
  w.varint(req_id);
  w.varint(value);
  w.varint(term);
  w.u8(ok ? 1 : 0);
  w.str(error);
  w.str(hint);
}

HeaderPtr ClientHeader::decode(codec::Reader& r) {
  auto h = std::make_shared<ClientHeader>();
  uint8_t t = r.u8();
  if (t < forward || t > pong) r.fail("unknown CLIENT message type");
  h->type = static_cast<Type>(t);
  h->req_id = r.varint();
  h->value = r.varint();
  h->term = r.varint();
  h->ok = r.u8() != 0;
  h->error = r.str();
  h->hint = r.str();
  if (h->error.size() > 64 || h->hint.size() > 255) r.fail("CLIENT header string too long");
  return r.ok() ? h : nullptr;
}

namespace {
class ClientCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "cohort.client"; }
  std::string message(int e) const override {
    switch (static_cast<ClientErrc>(e)) {
      case ClientErrc::ok:
        return "ok";
      case ClientErrc::no_leader:
        return "no leader";
      case ClientErrc::timeout:
        return "timeout (the outcome is unknown)";
      case ClientErrc::not_member:
        return "not a member of the Raft configuration";
      case ClientErrc::store_failed:
        return "the log store failed";
      case ClientErrc::not_started:
        return "the channel is not connected";
      case ClientErrc::rejected:
        return "rejected";
    }
    return "unknown client error";
  }
};
}  // namespace

const std::error_category& client_category() {
  static ClientCategory c;
  return c;
}

}  // namespace cohort::raft
