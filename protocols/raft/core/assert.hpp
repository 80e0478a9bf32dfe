#pragma once
// COHORT_ASSERT: an always-on assertion for programmer errors (TIGER_STYLE: assertions stay on in
// production). Operating errors (bad frames, stale terms, not leader) are values, never asserts.
#include <cstdio>
#include <cstdlib>

namespace cohort::raft::detail {
[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: COHORT_ASSERT(%s) failed\n", file, line, expr);
  std::abort();
}
}  // namespace cohort::raft::detail

#define COHORT_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::cohort::raft::detail::assert_fail(#expr, __FILE__, __LINE__))
