#pragma once
// BLOCK_ASSERT: an always-on assertion for programmer errors in the building blocks
// (TIGER_STYLE: assertions stay on in production). Operating errors — malformed commands,
// expired sessions, unlock by a non-holder — are BlockStatus values, never assertions.
#include <cstdio>
#include <cstdlib>

namespace cohort::blocks_detail {
[[noreturn]] inline void assert_fail(const char* expr, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: BLOCK_ASSERT(%s) failed\n", file, line, expr);
  std::abort();
}
}  // namespace cohort::blocks_detail

#define BLOCK_ASSERT(expr) \
  ((expr) ? static_cast<void>(0) : ::cohort::blocks_detail::assert_fail(#expr, __FILE__, __LINE__))
