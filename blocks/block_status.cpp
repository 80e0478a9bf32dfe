#include "blocks/block_status.hpp"

#include <vector>

namespace cohort {

std::string_view to_string(BlockStatus s) {
  switch (s) {
    case BlockStatus::ok:
      return "ok";
    case BlockStatus::malformed:
      return "malformed";
    case BlockStatus::unknown_service:
      return "unknown_service";
    case BlockStatus::session_expired:
      return "session_expired";
    case BlockStatus::stale_sequence:
      return "stale_sequence";
    case BlockStatus::session_required:
      return "session_required";
    case BlockStatus::too_many_sessions:
      return "too_many_sessions";
    case BlockStatus::session_cache_full:
      return "session_cache_full";
    case BlockStatus::not_holder:
      return "not_holder";
    case BlockStatus::write_in_query:
      return "write_in_query";
  }
  return "unknown";
}

Buffer make_result(BlockStatus status, const Buffer& body) {
  std::vector<uint8_t> out;
  const bool with_body = status == BlockStatus::ok;
  out.reserve(1 + (with_body ? body.size() : 0));
  out.push_back(static_cast<uint8_t>(status));
  if (with_body) out.insert(out.end(), body.data(), body.data() + body.size());
  return Buffer(std::move(out));
}

BlockResult parse_result(const Buffer& result) {
  BlockResult r;
  if (result.empty() || result.data()[0] > static_cast<uint8_t>(BlockStatus::write_in_query))
    return r;
  r.status = static_cast<BlockStatus>(result.data()[0]);
  if (r.ok()) r.body = result.slice(1, result.size() - 1);
  return r;
}

Buffer bool_body(bool b) {
  return Buffer(std::vector<uint8_t>{static_cast<uint8_t>(b ? 1 : 0)});
}

BlockReply<bool> decode_bool_result(const Buffer& result) {
  return decode_reply<bool>(result, [](const Buffer& body) -> std::optional<bool> {
    if (body.size() != 1 || body.data()[0] > 1) return std::nullopt;
    return body.data()[0] == 1;
  });
}

BlockReply<bool> decode_empty_result(const Buffer& result) {
  return decode_reply<bool>(result, [](const Buffer& body) -> std::optional<bool> {
    if (!body.empty()) return std::nullopt;
    return true;
  });
}

}  // namespace cohort
