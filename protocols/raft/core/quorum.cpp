#include "protocols/raft/core/quorum.hpp"

#include <algorithm>
#include <functional>

namespace cohort::raft {

Index quorum_index(std::span<const Index> matches) {
  if (matches.empty()) return 0;
  std::vector<Index> sorted(matches.begin(), matches.end());
  // The majority-th largest value: that many voters are at or above it (§3.6).
  auto nth = sorted.begin() + static_cast<std::ptrdiff_t>(majority(sorted.size()) - 1);
  std::nth_element(sorted.begin(), nth, sorted.end(), std::greater<>());
  return *nth;
}

VoteResult tally_votes(std::span<const std::string> voters,
                       const std::map<std::string, bool>& votes) {
  size_t granted = 0, rejected = 0;
  for (const auto& v : voters) {
    auto it = votes.find(v);
    if (it == votes.end()) continue;
    (it->second ? granted : rejected) += 1;
  }
  size_t need = majority(voters.size());
  if (voters.empty()) return VoteResult::lost;
  if (granted >= need) return VoteResult::won;
  if (rejected > voters.size() - need) return VoteResult::lost;
  return VoteResult::pending;
}

}  // namespace cohort::raft
