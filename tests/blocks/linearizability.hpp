#pragma once
// A linearizability checker for histories recorded by tests (test support, not library):
// Wing & Gong's search with Lowe's memoization, as in porcupine. A history is a set of
// operations, each with the time its client called it and the time the result came back; the
// history is linearizable if some total order of the operations (a) respects real time — an
// operation that returned before another was called comes first — and (b) is a legal sequence
// for the model (a register per key, a counter per name).
//
// Operations whose outcome the client never learned (timeouts, crashes) have ret = never and
// known = false: they may have taken effect at any point after their call, or not at all.
// Histories are split per key (P-compositionality: a map is linearizable iff each key is).
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

namespace cohort::lin {

/// Return time of an operation that never returned.
inline constexpr int64_t never = std::numeric_limits<int64_t>::max();

enum class Verdict { linearizable, not_linearizable, unknown };
const char* to_string(Verdict v);

struct CheckResult {
  Verdict verdict = Verdict::linearizable;
  std::string failed_key;  ///< the first key (or counter) without a linearization
  uint64_t steps = 0;      ///< search steps taken, over all keys
};

// --- Register / map model ----------------------------------------------------------------

enum class MapOpKind { put, get, remove, compare_and_set };

struct MapOperation {
  int client = 0;
  int64_t call = 0;
  int64_t ret = 0;
  MapOpKind kind = MapOpKind::get;
  std::string key;
  std::optional<std::string> value;     ///< put / compare_and_set: the new value
  std::optional<std::string> expected;  ///< compare_and_set: expected (nullopt = absent)
  bool known = true;                    ///< false: the result was never observed
  std::optional<std::string> result;    ///< put / remove: previous value; get: the value
  bool ok = false;                      ///< compare_and_set: swapped?
};

/// Checks a map history; gives up (unknown) after max_steps search steps.
CheckResult check_map(const std::vector<MapOperation>& history, uint64_t max_steps = 50'000'000);

// --- Counter model -----------------------------------------------------------------------

enum class CounterOpKind { get, set, add_and_get, compare_and_set };

struct CounterOperation {
  int client = 0;
  int64_t call = 0;
  int64_t ret = 0;
  CounterOpKind kind = CounterOpKind::get;
  std::string name;
  int64_t arg = 0;       ///< set: value; add_and_get: delta; compare_and_set: new value
  int64_t expected = 0;  ///< compare_and_set
  bool known = true;
  int64_t result = 0;  ///< get / add_and_get: the value returned
  bool ok = false;     ///< compare_and_set: swapped?
};

CheckResult check_counter(const std::vector<CounterOperation>& history,
                          uint64_t max_steps = 50'000'000);

// --- The search, for any model -----------------------------------------------------------

/// One partition's operations as (call, ret) times plus a step function: step(state, i) gives
/// the state after operation i, or nullopt if i cannot happen in `state` with its recorded
/// result. State needs == and std::hash.
template <class State>
struct Partition {
  std::vector<int64_t> call;
  std::vector<int64_t> ret;
  State init{};
  std::function<std::optional<State>(const State&, size_t)> step;
};

/// Runs the memoized Wing–Gong search; `steps` is increased by the work done.
template <class State>
Verdict check_partition(const Partition<State>& p, uint64_t max_steps, uint64_t& steps);

}  // namespace cohort::lin

#include "linearizability_search.hpp"
