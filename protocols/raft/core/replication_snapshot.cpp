// Snapshots: taking them (log compaction, §5.1) and the chunked, resumable InstallSnapshot
// (Figure 5.3). One chunk per follower is in flight; heartbeats keep going meanwhile, so a long
// transfer never looks like a dead leader. A follower keeps the chunks it received (keyed by the
// snapshot's last index and term) so a transfer resumes after lost messages or a leader change.
#include <algorithm>

#include "protocols/raft/core/assert.hpp"
#include "protocols/raft/core/replication.hpp"

namespace cohort::raft {

void ReplicationCore::take_snapshot(Index index, Buffer data) {
  COHORT_ASSERT(index <= applied_);
  if (index <= store_.snapshot_meta().last_index) return;
  SnapshotMeta meta{index, term_at(index), config_at(index).encode()};
  store_.save_snapshot(meta, data);
  // Keep only configurations still needed: the one in effect at `index`, and later ones.
  size_t base = 0;
  while (base + 1 < configs_.size() && configs_[base + 1].first <= index)
    ++base;
  configs_.erase(configs_.begin(), configs_.begin() + static_cast<std::ptrdiff_t>(base));
  configs_.front().first = index;
}

void ReplicationCore::send_snapshot_chunk(const std::string& id, Progress& pr) {
  if (pr.chunk_sent) return;
  if (!snapshot_cache_ || snapshot_cache_->first.last_index != store_.snapshot_meta().last_index) {
    snapshot_cache_ = store_.load_snapshot();
    COHORT_ASSERT(snapshot_cache_.has_value());
  }
  const auto& [meta, data] = *snapshot_cache_;
  if (pr.snapshot_index != meta.last_index) pr.become_snapshot(meta.last_index);  // newer one
  uint64_t offset = std::min<uint64_t>(pr.snapshot_offset, data.size());
  uint64_t len = std::min<uint64_t>(options_.snapshot_chunk_size, data.size() - offset);
  send(id, SnapshotRequest{term(), meta.last_index, meta.last_term, meta.config, offset,
                           data.size(), data.slice(offset, len), offset + len == data.size()});
  pr.chunk_sent = true;
}

void ReplicationCore::handle_snapshot_response(const std::string& from, const SnapshotResponse& m) {
  if (m.term > term()) {
    election_->observed_term(m.term);
    return;
  }
  if (!leader_ || m.term < term()) return;
  auto it = progress_.find(from);
  if (it == progress_.end()) return;
  election_->peer_active(from);
  Progress& pr = it->second;
  if (pr.mode != Progress::Mode::snapshot || m.last_index != pr.snapshot_index) return;
  if (m.done) {
    // The follower holds everything up to the snapshot durably; continue with entries.
    pr.acknowledge(m.last_index);
    pr.become_replicate();
    maybe_commit();
    return;
  }
  pr.snapshot_offset = m.next_offset;  // resume where the follower is (may go back to 0)
  pr.chunk_sent = false;
}

void ReplicationCore::handle_snapshot(const std::string& from, const SnapshotRequest& m) {
  if (m.term < term()) {
    send(from, SnapshotResponse{term(), m.last_index, 0, false});
    return;
  }
  election_->heard_from_leader(m.term, from);
  leader_id_ = from;
  if (m.last_index <= commit_) {
    // We already hold (and have committed) everything it covers.
    incoming_.reset();
    send(from, SnapshotResponse{term(), m.last_index, m.total_bytes, true});
    return;
  }
  if (!incoming_ || incoming_->last_index != m.last_index || incoming_->last_term != m.last_term) {
    if (m.offset != 0) {
      send(from, SnapshotResponse{term(), m.last_index, 0, false});  // restart from the start
      return;
    }
    incoming_ = IncomingSnapshot{m.last_index, m.last_term, m.config, m.total_bytes, {}};
  }
  IncomingSnapshot& in = *incoming_;
  if (m.total_bytes != in.total_bytes) {
    incoming_.reset();
    send(from, SnapshotResponse{term(), m.last_index, 0, false});
    return;
  }
  if (m.offset == in.data.size()) {
    in.data.insert(in.data.end(), m.data.data(), m.data.data() + m.data.size());
  }
  if (in.data.size() == in.total_bytes && m.done && m.offset + m.data.size() == in.total_bytes) {
    install_snapshot(in);
    incoming_.reset();
    send(from, SnapshotResponse{term(), m.last_index, m.total_bytes, true});
    return;
  }
  send(from, SnapshotResponse{term(), m.last_index, in.data.size(), false});
}

void ReplicationCore::install_snapshot(const IncomingSnapshot& in) {
  COHORT_ASSERT(in.last_index > commit_ && in.last_index >= applied_);
  auto config = Configuration::decode(in.config);
  if (!config) return;  // a corrupt configuration from the leader: refuse, it will retry
  SnapshotMeta meta{in.last_index, in.last_term, in.config};
  // Durable on return; keeps later entries only if they match (LogStore contract).
  store_.save_snapshot(meta, Buffer(std::vector<uint8_t>(in.data)));
  commit_ = applied_ = in.last_index;
  restore_pending_ = true;
  pending_ack_.reset();
  rebuild_configs();
}

}  // namespace cohort::raft
