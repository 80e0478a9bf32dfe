#pragma once
// The Raft RPCs (thesis Figure 3.1, §3.10, Figure 5.3, §9.6) and their wire codec. Every message
// names its sender and receiver by raft id. decode_message() checks every length against what
// remains and returns false on any malformed, truncated or oversized input: it never throws,
// never over-reads and never allocates more than the input could describe.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "protocols/raft/log/entry.hpp"
#include "stack/buffer.hpp"

namespace cohort::raft {

/// RequestVote (§3.4) or, with pre set, a pre-vote (§9.6): term is then the term the sender would
/// campaign in, and nobody changes state on receiving it.
struct VoteRequest {
  Term term = 0;
  Index last_index = 0;  ///< §3.6.1: the candidate's log, for the up-to-date check
  Term last_term = 0;
  bool pre = false;
  bool transfer = false;  ///< sent after TimeoutNow (§3.10): bypasses the §4.2.3 lease check
  friend bool operator==(const VoteRequest&, const VoteRequest&) = default;
};

struct VoteResponse {
  Term term = 0;  ///< for a granted pre-vote: the term of the request
  bool granted = false;
  bool pre = false;
  friend bool operator==(const VoteResponse&, const VoteResponse&) = default;
};

/// AppendEntries (§3.5). Entries are consecutive from prev_index + 1; an empty list is a
/// heartbeat.
struct AppendRequest {
  Term term = 0;
  Index prev_index = 0;
  Term prev_term = 0;
  Index commit = 0;
  std::vector<Entry> entries;
};

struct AppendResponse {
  Term term = 0;
  bool success = false;
  /// success: the follower durably holds the leader's log up to match.
  Index match = 0;
  /// failure: prev_index of the rejected request, and the fast back-off hint (§3.5): the
  /// follower's term at reject_index (0 if its log is shorter) and the first index it holds
  /// with that term (or its last_index + 1).
  Index reject_index = 0;
  Term conflict_term = 0;
  Index conflict_index = 0;
  friend bool operator==(const AppendResponse&, const AppendResponse&) = default;
};

/// InstallSnapshot, one chunk (Figure 5.3). Chunks of one snapshot share last_index/last_term.
struct SnapshotRequest {
  Term term = 0;
  Index last_index = 0;
  Term last_term = 0;
  Buffer config;  ///< encoded Configuration as of last_index
  uint64_t offset = 0;
  uint64_t total_bytes = 0;
  Buffer data;
  bool done = false;  ///< last chunk
};

struct SnapshotResponse {
  Term term = 0;
  Index last_index = 0;
  uint64_t next_offset = 0;  ///< bytes of this snapshot the follower holds (resume point)
  bool done = false;         ///< installed
  friend bool operator==(const SnapshotResponse&, const SnapshotResponse&) = default;
};

/// Leadership transfer (§3.10): start an election now, without pre-vote.
struct TimeoutNow {
  Term term = 0;
  friend bool operator==(const TimeoutNow&, const TimeoutNow&) = default;
};

using MessageBody = std::variant<VoteRequest, VoteResponse, AppendRequest, AppendResponse,
                                 SnapshotRequest, SnapshotResponse, TimeoutNow>;

struct Message {
  std::string from;
  std::string to;
  MessageBody body;
};

/// Limits of the decoder (hostile-input guards).
inline constexpr size_t max_append_entries_decoded = 1u << 20;

Buffer encode_message(const Message& m);
/// Returns false (and sets *error when given) on malformed input; `out` is then unspecified.
bool decode_message(const Buffer& in, Message& out, std::string* error = nullptr);

/// Short name of the body type ("AppendRequest"...), for traces and logs.
const char* message_name(const MessageBody& b);
/// The term carried by any message.
Term message_term(const MessageBody& b);

bool operator==(const Entry& a, const Entry& b);
bool operator==(const AppendRequest& a, const AppendRequest& b);
bool operator==(const SnapshotRequest& a, const SnapshotRequest& b);

}  // namespace cohort::raft
