#pragma once
// The source tree's root, for tests that read its files (stock configs, sources). Defined in
// test_main.cpp, the only file compiled with the path, so every other test object stays the
// same in any checkout (ccache hits across worktrees).
namespace cohort::test {
const char* source_dir();
}  // namespace cohort::test
