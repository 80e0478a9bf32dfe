#include "linearizability.hpp"

#include <map>

namespace cohort::lin {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::linearizable:
      return "linearizable";
    case Verdict::not_linearizable:
      return "not linearizable";
    case Verdict::unknown:
      return "unknown (step budget exhausted)";
  }
  return "?";
}

namespace {

// Splits a history by key, keeping each key's operations in history order.
template <class Op>
std::map<std::string, std::vector<const Op*>> by_key(const std::vector<Op>& history,
                                                     std::string Op::*key) {
  std::map<std::string, std::vector<const Op*>> parts;
  for (const auto& op : history)
    parts[op.*key].push_back(&op);
  return parts;
}

template <class State, class Op>
Partition<State> times_of(const std::vector<const Op*>& ops) {
  Partition<State> p;
  for (const Op* op : ops) {
    p.call.push_back(op->call);
    p.ret.push_back(op->ret);
  }
  return p;
}

template <class Op, class MakePartition>
CheckResult check_all(const std::vector<Op>& history, std::string Op::*key, uint64_t max_steps,
                      MakePartition make) {
  CheckResult result;
  for (const auto& [k, ops] : by_key(history, key)) {
    auto p = make(ops);
    const uint64_t budget = max_steps > result.steps ? max_steps - result.steps : 0;
    uint64_t steps = 0;
    const Verdict v = check_partition(p, budget, steps);
    result.steps += steps;
    if (v != Verdict::linearizable) {
      result.verdict = v;
      result.failed_key = k;
      return result;
    }
  }
  return result;
}

}  // namespace

CheckResult check_map(const std::vector<MapOperation>& history, uint64_t max_steps) {
  using State = std::optional<std::string>;
  return check_all(history, &MapOperation::key, max_steps,
                   [](const std::vector<const MapOperation*>& ops) {
                     auto p = times_of<State>(ops);
                     p.step = [ops](const State& s, size_t i) -> std::optional<State> {
                       const MapOperation& op = *ops[i];
                       switch (op.kind) {
                         case MapOpKind::put:
                           if (op.known && op.result != s) return std::nullopt;
                           return State(op.value);
                         case MapOpKind::get:
                           if (op.known && op.result != s) return std::nullopt;
                           return s;
                         case MapOpKind::remove:
                           if (op.known && op.result != s) return std::nullopt;
                           return State();
                         case MapOpKind::compare_and_set: {
                           const bool swap = s == op.expected;
                           if (op.known && op.ok != swap) return std::nullopt;
                           return swap ? State(op.value) : s;
                         }
                       }
                       return std::nullopt;
                     };
                     return p;
                   });
}

CheckResult check_counter(const std::vector<CounterOperation>& history, uint64_t max_steps) {
  using State = int64_t;
  return check_all(history, &CounterOperation::name, max_steps,
                   [](const std::vector<const CounterOperation*>& ops) {
                     auto p = times_of<State>(ops);
                     p.step = [ops](const State& s, size_t i) -> std::optional<State> {
                       const CounterOperation& op = *ops[i];
                       switch (op.kind) {
                         case CounterOpKind::get:
                           if (op.known && op.result != s) return std::nullopt;
                           return s;
                         case CounterOpKind::set:
                           return op.arg;
                         case CounterOpKind::add_and_get: {
                           const State after = static_cast<State>(static_cast<uint64_t>(s) +
                                                                  static_cast<uint64_t>(op.arg));
                           if (op.known && op.result != after) return std::nullopt;
                           return after;
                         }
                         case CounterOpKind::compare_and_set: {
                           const bool swap = s == op.expected;
                           if (op.known && op.ok != swap) return std::nullopt;
                           return swap ? op.arg : s;
                         }
                       }
                       return std::nullopt;
                     };
                     return p;
                   });
}

}  // namespace cohort::lin
