#pragma once
// Progress: what a leader knows about one follower's log (thesis §3.5, §10.2 pipelining), in one
// of three modes, as in etcd-raft:
//   probe     — one AppendEntries at a time until the follower's position is found (after a
//               rejection or at election); fast back-off with the conflict hint.
//   replicate — optimistic pipelining: batches are sent back to back while the bytes in flight
//               stay under max_inflight_bytes; acknowledgements free the window.
//   snapshot  — the follower needs compacted entries: a chunked InstallSnapshot is under way,
//               one chunk in flight, resumed from the acknowledged offset.
#include <cstdint>
#include <deque>

#include "protocols/raft/log/entry.hpp"

namespace cohort::raft {

struct Progress {
  enum class Mode : uint8_t { probe, replicate, snapshot };

  Index match = 0;  ///< highest index known durable on the follower and matching the leader
  Index next = 1;   ///< next index to send
  Mode mode = Mode::probe;
  bool probe_sent = false;  ///< probe: an AppendEntries is outstanding
  /// replicate: (last index, bytes) of each batch in flight, oldest first.
  std::deque<std::pair<Index, uint64_t>> inflight;
  uint64_t inflight_bytes = 0;
  uint32_t stalled_heartbeats = 0;  ///< heartbeat rounds without progress while in flight
  // snapshot mode
  Index snapshot_index = 0;
  uint64_t snapshot_offset = 0;
  bool chunk_sent = false;

  void become_probe(Index next_index);
  void become_replicate();
  void become_snapshot(Index index);
  /// A success acknowledging `index`; returns true if match advanced.
  bool acknowledge(Index index);
  bool window_full(uint64_t max_inflight_bytes) const {
    return inflight_bytes >= max_inflight_bytes;
  }
  void sent(Index last, uint64_t bytes);
};

const char* mode_name(Progress::Mode m);

}  // namespace cohort::raft
