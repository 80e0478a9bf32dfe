#pragma once
// Seeds for the blocks' simulation loops: `count` seeds from `first` by default;
// COHORT_SIM_SEEDS=N (or test_sim --seeds N) runs N of them, COHORT_SIM_SEED=S (--seed S)
// replays only S. Print the seed with INFO so a failure names it.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <vector>

namespace cohort::test {

inline std::vector<uint64_t> sim_seeds(uint64_t first, int count) {
  if (const char* s = std::getenv("COHORT_SIM_SEED")) return {std::strtoull(s, nullptr, 10)};
  if (const char* s = std::getenv("COHORT_SIM_SEEDS")) count = std::max(1, std::atoi(s));
  std::vector<uint64_t> out;
  for (int i = 0; i < count; ++i)
    out.push_back(first + static_cast<uint64_t>(i));
  return out;
}

}  // namespace cohort::test
