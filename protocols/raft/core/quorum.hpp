#pragma once
// Quorum math (thesis §3.4, §3.6): majorities over a configuration's voters. Pure functions,
// tested against a naive reference.
#include <map>
#include <span>
#include <string>
#include <vector>

#include "protocols/raft/log/entry.hpp"

namespace cohort::raft {

/// Smallest number of voters that forms a majority of n (n >= 1).
inline size_t majority(size_t n) {
  return n / 2 + 1;
}

/// The highest index that a majority of `matches` (one per voter) is at or above; 0 when empty.
Index quorum_index(std::span<const Index> matches);

enum class VoteResult : uint8_t { pending, won, lost };

/// Tallies votes (raft id → granted) counted only for ids in `voters`.
VoteResult tally_votes(std::span<const std::string> voters,
                       const std::map<std::string, bool>& votes);

}  // namespace cohort::raft
