#pragma once
// The unit of the replicated log (thesis §3.5) and the state Raft must keep durable (Figure 3.1).
#include <cstdint>
#include <string>
#include <vector>

#include "stack/buffer.hpp"

namespace cohort::raft {

using Term = uint64_t;
using Index = uint64_t;

enum class EntryType : uint8_t {
  command = 0,  ///< a state machine command (data = the command bytes)
  noop = 1,     ///< appended by a new leader to commit entries of earlier terms (thesis §3.6.2)
  config = 2,   ///< a cluster configuration (data = encoded Configuration, thesis §4.1)
};

struct Entry {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::command;
  Buffer data;
};

/// Term and vote: must be durable before any message that depends on them is sent (§3.8).
struct HardState {
  Term term = 0;
  std::string voted_for;  ///< raft id, empty = none
  friend bool operator==(const HardState&, const HardState&) = default;
};

/// Describes a snapshot: it replaces every entry up to and including last_index.
struct SnapshotMeta {
  Index last_index = 0;
  Term last_term = 0;
  Buffer config;  ///< encoded Configuration in effect at last_index
};

}  // namespace cohort::raft
