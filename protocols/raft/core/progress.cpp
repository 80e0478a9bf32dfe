#include "protocols/raft/core/progress.hpp"

#include "protocols/raft/core/assert.hpp"

namespace cohort::raft {

void Progress::become_probe(Index next_index) {
  COHORT_ASSERT(next_index > match);
  mode = Mode::probe;
  next = next_index;
  probe_sent = false;
  inflight.clear();
  inflight_bytes = 0;
  stalled_heartbeats = 0;
  chunk_sent = false;
}

void Progress::become_replicate() {
  mode = Mode::replicate;
  next = match + 1;
  probe_sent = false;
  inflight.clear();
  inflight_bytes = 0;
  stalled_heartbeats = 0;
}

void Progress::become_snapshot(Index index) {
  mode = Mode::snapshot;
  snapshot_index = index;
  snapshot_offset = 0;
  chunk_sent = false;
  inflight.clear();
  inflight_bytes = 0;
}

bool Progress::acknowledge(Index index) {
  bool advanced = index > match;
  if (advanced) {
    match = index;
    stalled_heartbeats = 0;
  }
  if (next <= match) next = match + 1;
  while (!inflight.empty() && inflight.front().first <= match) {
    inflight_bytes -= inflight.front().second;
    inflight.pop_front();
  }
  return advanced;
}

void Progress::sent(Index last, uint64_t bytes) {
  COHORT_ASSERT(mode == Mode::replicate && last >= next);
  inflight.emplace_back(last, bytes);
  inflight_bytes += bytes;
  next = last + 1;
}

const char* mode_name(Progress::Mode m) {
  switch (m) {
    case Progress::Mode::probe:
      return "probe";
    case Progress::Mode::replicate:
      return "replicate";
    case Progress::Mode::snapshot:
      return "snapshot";
  }
  return "?";
}

}  // namespace cohort::raft
