#pragma once
// `cohort perf net --two-process` (tools/perf_net_process.cpp): the TCP or UDP transport between
// two processes, next to plain Asio sockets between two processes doing the same in the same run.
// Prints figures; asserts nothing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace cohort::tools {

/// transport: "tcp" or "udp". count_override 0: default_count(size) messages per run.
/// batch_send: the cohort sender hands messages to the channel's loop in batches (one post per
/// batch, each message sent down the stack on the loop) instead of one Channel::send each.
void run_perf_net_two_process(const std::string& transport, const std::vector<size_t>& sizes,
                              uint64_t count_override, uint64_t (*default_count)(size_t),
                              size_t batch_send);

}  // namespace cohort::tools
