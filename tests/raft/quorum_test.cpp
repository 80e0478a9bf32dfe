// Quorum math against a naive reference.
#include <doctest/doctest.h>

#include <random>

#include "protocols/raft/core/quorum.hpp"

using namespace cohort::raft;

namespace {
// Naive: the largest candidate value that at least a majority is at or above.
Index naive_quorum_index(const std::vector<Index>& m) {
  Index best = 0;
  for (Index candidate : m) {
    size_t at_or_above = 0;
    for (Index x : m)
      at_or_above += x >= candidate ? 1 : 0;
    if (at_or_above * 2 > m.size()) best = std::max(best, candidate);
  }
  return best;
}
VoteResult naive_tally(const std::vector<std::string>& voters,
                       const std::map<std::string, bool>& votes) {
  size_t yes = 0, no = 0;
  for (const auto& v : voters) {
    if (!votes.count(v)) continue;
    (votes.at(v) ? yes : no)++;
  }
  if (voters.empty()) return VoteResult::lost;
  if (yes * 2 > voters.size()) return VoteResult::won;
  if ((voters.size() - no) * 2 <= voters.size()) return VoteResult::lost;  // cannot reach it
  return VoteResult::pending;
}
}  // namespace

TEST_CASE("quorum: majority sizes") {
  CHECK(majority(1) == 1);
  CHECK(majority(2) == 2);
  CHECK(majority(3) == 2);
  CHECK(majority(4) == 3);
  CHECK(majority(5) == 3);
}

TEST_CASE("quorum: quorum_index matches the naive reference") {
  std::mt19937_64 rng(7);
  CHECK(quorum_index(std::vector<Index>{}) == 0);
  for (int round = 0; round < 20000; ++round) {
    std::vector<Index> m(1 + rng() % 9);
    for (auto& x : m)
      x = rng() % 12;
    INFO("round " << round);
    CHECK(quorum_index(m) == naive_quorum_index(m));
  }
}

TEST_CASE("quorum: vote tally counts only voters, by id") {
  std::mt19937_64 rng(11);
  const std::vector<std::string> all = {"A", "B", "C", "D", "E", "X", "Y"};
  for (int round = 0; round < 20000; ++round) {
    std::vector<std::string> voters(all.begin(), all.begin() + static_cast<long>(rng() % 6));
    std::map<std::string, bool> votes;
    for (const auto& id : all) {
      if (rng() % 3) votes[id] = rng() % 2;
    }
    INFO("round " << round);
    CHECK(tally_votes(voters, votes) == naive_tally(voters, votes));
  }
  // Non-voters never decide an election.
  std::vector<std::string> three = {"A", "B", "C"};
  CHECK(tally_votes(three, {{"A", true}, {"X", true}, {"Y", true}}) == VoteResult::pending);
  CHECK(tally_votes(three, {{"A", true}, {"B", true}}) == VoteResult::won);
  CHECK(tally_votes(three, {{"A", false}, {"B", false}}) == VoteResult::lost);
}
