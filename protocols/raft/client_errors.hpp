#pragma once
// Typed errors of the CLIENT protocol, as std::error_code values (so Asio completion tokens carry
// them): callers see no_leader, timeout, not_member, ... instead of hanging.
#include <system_error>

namespace cohort::raft {

enum class ClientErrc {
  ok = 0,
  no_leader = 1,     ///< no leader was known within the deadline
  timeout = 2,       ///< the deadline passed; the command may or may not have been applied
  not_member = 3,    ///< this member is not in the Raft configuration
  store_failed = 4,  ///< the log store failed on this member (disk full, I/O error)
  not_started = 5,   ///< the channel is not connected
  rejected = 6,      ///< the request was malformed
};

const std::error_category& client_category();
inline std::error_code make_error_code(ClientErrc e) {
  return {static_cast<int>(e), client_category()};
}

}  // namespace cohort::raft

template <>
struct std::is_error_code_enum<cohort::raft::ClientErrc> : std::true_type {};
