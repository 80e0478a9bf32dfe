// The remote CLIENT protocol's wire format: requests and responses round-trip with every field,
// and every truncation is refused with an error.
#include <doctest/doctest.h>

#include "protocols/raft/client_wire.hpp"

using namespace cohort;
using namespace cohort::raft;

TEST_CASE("client wire: a response round-trips with its staleness fields") {
  wire::Response r;
  r.kind = wire::ResponseKind::reply;
  r.req_id = 77;
  r.error = 2;
  r.index = 1234;
  r.commit_lag = 5;
  r.last_contact_ms = 1500;
  r.leader = "B";
  r.payload = Buffer::copy_of(std::string_view("value"));
  Buffer bytes = wire::encode(r);
  auto back = wire::decode_response(bytes);
  REQUIRE(back.has_value());
  CHECK(back->req_id == 77);
  CHECK(back->error == 2);
  CHECK(back->index == 1234);
  CHECK(back->commit_lag == 5);
  CHECK(back->last_contact_ms == 1500);
  CHECK(back->leader == "B");
  CHECK(back->payload == r.payload);
  for (size_t n = 0; n < bytes.size(); ++n) {
    std::string error;
    CHECK_FALSE(wire::decode_response(bytes.slice(0, n), &error).has_value());
    CHECK_FALSE(error.empty());
  }
}

TEST_CASE("client wire: a request round-trips and an unknown read mode is refused") {
  wire::Request q;
  q.kind = wire::RequestKind::read;
  q.req_id = 9;
  q.timeout_ms = 100;
  q.mode = ReadMode::stale;
  q.payload = Buffer::copy_of(std::string_view("query"));
  Buffer bytes = wire::encode(q);
  auto back = wire::decode_request(bytes);
  REQUIRE(back.has_value());
  CHECK(back->mode == ReadMode::stale);
  CHECK(back->timeout_ms == 100);
  CHECK(back->payload == q.payload);
  std::vector<uint8_t> raw(bytes.data(), bytes.data() + bytes.size());
  raw[3] = 9;  // kind, req_id, timeout_ms (one byte each here), then the mode
  std::string error;
  CHECK_FALSE(wire::decode_request(Buffer(std::move(raw)), &error).has_value());
  CHECK(error == "unknown read mode");
}
