#pragma once
// Configuration: the voting members and the learners (non-voting members that receive the log) of
// a Raft cluster (thesis §4.1). Members are named by raft id. A configuration is carried in the log
// as an EntryType::config entry and in snapshot metadata, encoded with encode()/decode().
#include <optional>
#include <string>
#include <vector>

#include "stack/buffer.hpp"

namespace cohort::raft {

/// Limits on a decoded configuration (hostile-input guards).
inline constexpr size_t max_config_members = 1024;
inline constexpr size_t max_raft_id_bytes = 255;

struct Configuration {
  std::vector<std::string> voters;    ///< sorted, unique
  std::vector<std::string> learners;  ///< sorted, unique, disjoint from voters

  bool is_voter(const std::string& id) const;
  bool is_learner(const std::string& id) const;
  bool contains(const std::string& id) const { return is_voter(id) || is_learner(id); }
  bool empty() const { return voters.empty() && learners.empty(); }
  /// Voters then learners.
  std::vector<std::string> members() const;

  // Single-server changes (§4.1); each returns the new configuration. Preconditions are asserted.
  Configuration with_learner(const std::string& id) const;  ///< id not a member
  Configuration promoted(const std::string& id) const;      ///< id is a learner
  Configuration without(const std::string& id) const;       ///< id is a member

  /// Sorts and checks the invariants (unique, disjoint); false if violated.
  bool normalize();

  Buffer encode() const;
  /// nullopt on any malformed, truncated or oversized input.
  static std::optional<Configuration> decode(const Buffer& in);

  friend bool operator==(const Configuration&, const Configuration&) = default;
};

/// Builds a configuration of voters from a list ("A,B,C" already split).
Configuration make_configuration(std::vector<std::string> voters,
                                 std::vector<std::string> learners = {});

}  // namespace cohort::raft
