#pragma once
// The search of linearizability.hpp (template, included from it).
//
// Events (calls and returns) sit in time order in a doubly linked list. Walking it, a call may
// be linearized now if the model accepts it: it is lifted out (call and return) and the walk
// restarts; reaching a return means the operation that returns there was not linearized in
// time, so the last choice is undone (backtracking). Lowe's memoization skips any
// (set of linearized operations, state) pair already explored.
#include <algorithm>
#include <cstddef>
#include <utility>

#include "linearizability.hpp"

namespace cohort::lin {

namespace detail {

struct Bits {
  std::vector<uint64_t> words;
  explicit Bits(size_t n) : words((n + 63) / 64) {}
  void set(size_t i) { words[i / 64] |= uint64_t{1} << (i % 64); }
  void reset(size_t i) { words[i / 64] &= ~(uint64_t{1} << (i % 64)); }
  friend bool operator==(const Bits&, const Bits&) = default;
};

template <class State>
struct Memo {
  Bits bits;
  State state;
  friend bool operator==(const Memo&, const Memo&) = default;
};

template <class State>
struct MemoHash {
  size_t operator()(const Memo<State>& m) const {
    size_t h = std::hash<State>{}(m.state);
    for (uint64_t w : m.bits.words)
      h = h * 1000003u ^ std::hash<uint64_t>{}(w);
    return h;
  }
};

}  // namespace detail

template <class State>
Verdict check_partition(const Partition<State>& p, uint64_t max_steps, uint64_t& steps) {
  const size_t n = p.call.size();
  if (n == 0) return Verdict::linearizable;
  // Node 0 is the head; event e (0..2n-1) is node e+1: even = call of op e/2, odd = its return.
  struct Event {
    int64_t time;
    bool is_call;
    size_t op;
  };
  std::vector<Event> events;
  events.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    events.push_back({p.call[i], true, i});
    events.push_back({p.ret[i], false, i});
  }
  // At equal times calls come first: touching operations count as concurrent.
  std::stable_sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    return a.is_call && !b.is_call;
  });
  std::vector<size_t> call_node(n), ret_node(n);
  for (size_t i = 0; i < events.size(); ++i)
    (events[i].is_call ? call_node : ret_node)[events[i].op] = i + 1;
  const size_t nil = 0;
  std::vector<size_t> next(2 * n + 1), prev(2 * n + 1);
  for (size_t i = 0; i <= 2 * n; ++i) {
    next[i] = i == 2 * n ? nil : i + 1;
    prev[i] = i == 0 ? nil : i - 1;
  }
  auto unlink = [&](size_t x) {
    next[prev[x]] = next[x];
    if (next[x] != nil) prev[next[x]] = prev[x];
  };
  auto relink = [&](size_t x) {
    next[prev[x]] = x;
    if (next[x] != nil) prev[next[x]] = x;
  };

  std::unordered_set<detail::Memo<State>, detail::MemoHash<State>> memo;
  detail::Bits linearized(n);
  State state = p.init;
  std::vector<std::pair<size_t, State>> stack;  // (op, state before it)
  size_t node = next[0];
  while (next[0] != nil) {
    if (++steps > max_steps) return Verdict::unknown;
    const Event& e = events[node - 1];
    if (e.is_call) {
      if (auto after = p.step(state, e.op)) {
        linearized.set(e.op);
        if (memo.insert({linearized, *after}).second) {
          stack.emplace_back(e.op, std::move(state));
          state = std::move(*after);
          unlink(call_node[e.op]);
          unlink(ret_node[e.op]);
          node = next[0];
          continue;
        }
        linearized.reset(e.op);
      }
      node = next[node];
    } else {
      if (stack.empty()) return Verdict::not_linearizable;
      auto [op, before] = std::move(stack.back());
      stack.pop_back();
      linearized.reset(op);
      state = std::move(before);
      relink(ret_node[op]);
      relink(call_node[op]);
      node = next[call_node[op]];
    }
  }
  return Verdict::linearizable;
}

}  // namespace cohort::lin
