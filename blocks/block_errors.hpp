#pragma once
// BlockStatus as a std::error_code: the typed clients (Counter, Lock, MapClient) report a block's
// operating errors (not_holder, session_expired, malformed, ...) in the same error_code as
// CLIENT's (raft::ClientErrc: no_leader, timeout, ...), so a caller checks one value:
//   if (ec == BlockStatus::not_holder) ...   if (ec == raft::ClientErrc::no_leader) ...
// BlockStatus::ok is the zero value, i.e. no error.
#include <string>
#include <system_error>

#include "blocks/block_status.hpp"

namespace cohort {

/// The category of BlockStatus error codes; name() is "cohort.block", message() the status name.
const std::error_category& block_category();

inline std::error_code make_error_code(BlockStatus s) {
  return {static_cast<int>(s), block_category()};
}

/// A short, stable name for any error the blocks report: the enumerator name for BlockStatus
/// and raft::ClientErrc ("not_holder", "no_leader"), else the code's message.
std::string error_name(const std::error_code& ec);

}  // namespace cohort

template <>
struct std::is_error_code_enum<cohort::BlockStatus> : std::true_type {};
