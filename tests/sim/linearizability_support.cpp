// The linearizability checker of tests/blocks (test support code, compiled there into
// test_blocks) compiled into test_sim as well, for the whole-cluster histories of
// typed_blocks_test.cpp. One definition per executable: only this file includes it here.
#include "blocks/linearizability.cpp"  // NOLINT(bugprone-suspicious-include)
