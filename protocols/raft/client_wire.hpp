#pragma once
// The remote client protocol (CLIENT bind_addr/port): how programs that are not members reach
// the blocks over TCP. Every frame is u32 little-endian length + body; bodies use the codec.
//
// Request body:   u8 kind | varint req_id | varint timeout_ms (0 = server default)
//                 | u8 read mode | bytes payload
//   kind 1 submit     payload = the command (a session envelope for the blocks)
//   kind 2 read       payload = the query
//   kind 3 status     payload empty
//   kind 4 subscribe  payload = varint session id: push that session's notifications here
// Response body:  u8 kind | varint req_id | u8 error (ClientErrc) | varint index
//                 | varint commit_lag | varint last_contact_ms | str leader | bytes payload
//   kind 1 reply         index = log index (submit) or applied index (read); payload = result
//                        (status: payload = encoded status, see encode_status)
//   kind 2 notification  req_id = session id | leader = service | payload = notification body
// The server answers requests in any order (match by req_id); redirect to the leader happens
// inside the member, so any member can be connected to.
#include <cstdint>
#include <optional>
#include <string>

#include "protocols/raft/raft_events.hpp"
#include "stack/buffer.hpp"

namespace cohort::raft::wire {

inline constexpr uint32_t max_frame_bytes = 64u << 20;

enum class RequestKind : uint8_t { submit = 1, read = 2, status = 3, subscribe = 4 };
enum class ResponseKind : uint8_t { reply = 1, notification = 2 };

struct Request {
  RequestKind kind = RequestKind::submit;
  uint64_t req_id = 0;
  uint64_t timeout_ms = 0;
  ReadMode mode = ReadMode::linearizable;
  Buffer payload;
};

struct Response {
  ResponseKind kind = ResponseKind::reply;
  uint64_t req_id = 0;
  uint8_t error = 0;
  uint64_t index = 0;
  uint64_t commit_lag = 0;
  uint64_t last_contact_ms = 0;
  std::string leader;
  Buffer payload;
};

Buffer encode(const Request& r);
Buffer encode(const Response& r);
/// nullopt on malformed input (with *error set when given).
std::optional<Request> decode_request(const Buffer& body, std::string* error = nullptr);
std::optional<Response> decode_response(const Buffer& body, std::string* error = nullptr);

Buffer encode_status(const RaftStatus& s);
std::optional<RaftStatus> decode_status(const Buffer& b);

}  // namespace cohort::raft::wire
