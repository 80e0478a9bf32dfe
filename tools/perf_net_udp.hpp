#pragma once
// `cohort perf net --transport udp` (tools/perf_net_udp.cpp): the UDP transport next to plain
// Asio UDP sockets, for each message size. Prints figures; asserts nothing.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cohort::tools {

/// count_override 0: default_count(size) messages per run.
void run_perf_net_udp(const std::vector<size_t>& sizes, uint64_t count_override,
                      uint64_t (*default_count)(size_t));

}  // namespace cohort::tools
