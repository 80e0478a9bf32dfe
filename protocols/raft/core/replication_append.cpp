// AppendEntries: sending with batching and pipelining, receiving with the consistency check, fast
// back-off, durable acknowledgements and the commit rule (thesis §3.5, §3.6, §10.2).
#include <algorithm>

#include "protocols/raft/core/assert.hpp"
#include "protocols/raft/core/quorum.hpp"
#include "protocols/raft/core/replication.hpp"

namespace cohort::raft {

namespace {
// Bytes an entry counts for in batching and in-flight limits: its data plus a fixed overhead, so
// that empty entries are bounded too.
uint64_t entry_cost(const Entry& e) {
  return e.data.size() + 16;
}
}  // namespace

// ---- leader side ----

void ReplicationCore::send_append(const std::string& id, Progress& pr) {
  if (pr.mode == Progress::Mode::snapshot) {
    send_snapshot_chunk(id, pr);
    return;
  }
  if (pr.next < store_.first_index()) {
    // §5.1: the entries it needs were compacted; send the snapshot instead.
    auto meta = store_.snapshot_meta();
    COHORT_ASSERT(meta.last_index > 0);
    pr.become_snapshot(meta.last_index);
    send_snapshot_chunk(id, pr);
    return;
  }
  Index last = store_.last_index();
  if (pr.mode == Progress::Mode::probe && pr.probe_sent) return;
  do {
    if (pr.mode == Progress::Mode::replicate &&
        (pr.next > last || pr.window_full(options_.max_inflight_bytes))) {
      return;
    }
    AppendRequest req{term(), pr.next - 1, term_at(pr.next - 1), commit_, {}};
    uint64_t bytes = 0;
    if (pr.next <= last) {
      Index to = std::min(last, pr.next + options_.max_append_entries - 1);
      req.entries = store_.entries(pr.next, to, options_.max_append_bytes);
      for (const auto& e : req.entries)
        bytes += entry_cost(e);
    }
    Index sent_last = req.entries.empty() ? pr.next - 1 : req.entries.back().index;
    send(id, std::move(req));
    if (pr.mode == Progress::Mode::probe) {
      pr.probe_sent = true;  // one at a time until the follower's position is known
      return;
    }
    pr.sent(sent_last, bytes);
  } while (true);
}

void ReplicationCore::send_heartbeats() {
  for (auto& [id, pr] : progress_) {
    // A heartbeat is an empty AppendEntries at the follower's known match (so it never fails),
    // carrying the commit index (§3.5). It also re-arms lost probes and snapshot chunks.
    Index prev = pr.match + 1 >= store_.first_index() ? pr.match : 0;
    send(id, AppendRequest{term(), prev, term_at(prev), commit_, {}});
    switch (pr.mode) {
      case Progress::Mode::probe:
        pr.probe_sent = false;
        break;
      case Progress::Mode::snapshot:
        pr.chunk_sent = false;
        break;
      case Progress::Mode::replicate:
        // Batches may have been lost: after two silent rounds fall back to probing.
        if (!pr.inflight.empty() && ++pr.stalled_heartbeats >= 2) pr.become_probe(pr.match + 1);
        break;
    }
  }
}

Index ReplicationCore::next_after_rejection(const Progress& pr, const AppendResponse& m) const {
  // §3.5 fast back-off: skip the follower's whole conflicting term in one round trip.
  Index next = m.conflict_index;
  if (m.conflict_term != 0) {
    Index i = std::min(m.reject_index, store_.last_index());
    while (i >= store_.first_index() && term_at(i) > m.conflict_term)
      --i;
    if (i >= store_.first_index() && term_at(i) == m.conflict_term) next = i + 1;
  }
  next = std::min(next, m.reject_index);  // always go back at least one
  return std::max(next, pr.match + 1);
}

void ReplicationCore::handle_append_response(const std::string& from, const AppendResponse& m) {
  if (m.term > term()) {
    election_->observed_term(m.term);
    return;
  }
  if (!leader_ || m.term < term()) return;
  auto it = progress_.find(from);
  if (it == progress_.end()) return;
  election_->peer_active(from);
  Progress& pr = it->second;
  if (m.success) {
    if (m.match > store_.last_index()) return;  // cannot be ours
    bool advanced = pr.acknowledge(m.match);
    if (pr.mode == Progress::Mode::probe && (advanced || pr.match + 1 == pr.next)) {
      pr.become_replicate();
    } else if (pr.mode == Progress::Mode::snapshot && pr.match >= pr.snapshot_index) {
      pr.become_replicate();
    }
    if (advanced) maybe_commit();
    return;
  }
  if (pr.mode == Progress::Mode::snapshot) return;
  if (m.reject_index <= pr.match) return;  // stale: that prefix is known to match
  if (pr.mode == Progress::Mode::probe && m.reject_index + 1 != pr.next) return;  // old probe
  pr.become_probe(next_after_rejection(pr, m));
}

void ReplicationCore::maybe_commit() {
  if (!leader_) return;
  const Configuration& c = configuration();
  std::vector<Index> matches;
  matches.reserve(c.voters.size());
  for (const auto& v : c.voters) {
    if (v == id_) {
      matches.push_back(store_.durable_index());  // §10.2.1: only what is on our disk counts
    } else {
      auto it = progress_.find(v);
      matches.push_back(it == progress_.end() ? 0 : it->second.match);
    }
  }
  Index q = quorum_index(matches);
  // §3.6.2 (Figure 8): only an entry of the current term is committed by counting replicas.
  if (q > commit_ && term_at(q) == term()) commit_ = q;
  after_commit();
}

// ---- follower side ----

void ReplicationCore::reject_append(const std::string& from, const AppendRequest& m) {
  AppendResponse r{term(), false, 0, m.prev_index, 0, 0};
  Index last = store_.last_index();
  if (m.prev_index > last) {
    r.conflict_index = last + 1;  // our log is too short
  } else {
    // §3.5: report our term at prev_index and where that term starts (not below the commit
    // index: everything up to it matches every future leader).
    r.conflict_term = term_at(m.prev_index);
    Index i = m.prev_index;
    while (i > commit_ + 1 && term_at(i - 1) == r.conflict_term)
      --i;
    r.conflict_index = i;
  }
  send(from, r);
}

void ReplicationCore::handle_append(const std::string& from, const AppendRequest& m) {
  if (m.term < term()) {
    // Stale leader: answer with our term so it steps down (§3.3).
    send(from, AppendResponse{term(), false, 0, m.prev_index, 0, 0});
    return;
  }
  election_->heard_from_leader(m.term, from);
  COHORT_ASSERT(!leader_ && term() == m.term);
  leader_id_ = from;

  size_t k = 0;  // first entry of m not yet known to be in our log
  if (m.prev_index < commit_) {
    // Everything up to our commit index matches every leader's log (§3.6, leader completeness):
    // skip those entries instead of checking a prefix that may be compacted.
    k = std::min<size_t>(m.entries.size(), commit_ - m.prev_index);
  } else if (m.prev_index > store_.last_index() || term_at(m.prev_index) != m.prev_term) {
    reject_append(from, m);
    return;
  }
  // §3.5: skip entries we already hold; truncate only at the first real conflict, so a stale or
  // reordered request never removes entries that a later request appended.
  Index last = store_.last_index();
  while (k < m.entries.size() && m.entries[k].index <= last &&
         term_at(m.entries[k].index) == m.entries[k].term) {
    ++k;
  }
  if (k < m.entries.size()) {
    Index at = m.entries[k].index;
    if (at <= last) {
      COHORT_ASSERT(at > commit_);  // never truncate a committed entry
      revert_configs(at);
      if (pending_ack_ && pending_ack_->upto >= at) pending_ack_->upto = at - 1;
    }
    auto rest = std::span(m.entries).subspan(k);
    store_.append(rest);
    for (const auto& e : rest) {
      if (e.type == EntryType::config) track_config(e);
    }
  }
  // The leader's log matches ours up to `verified`; commit only within that prefix (a follower
  // must not commit entries beyond what this request verified, §3.5).
  Index verified = m.prev_index + m.entries.size();
  Index new_commit = std::min(m.commit, verified);
  if (new_commit > commit_) commit_ = new_commit;
  acknowledge(from, verified, /*appended=*/k < m.entries.size());
}

void ReplicationCore::acknowledge(const std::string& leader, Index verified, bool appended) {
  // §3.8: acknowledge only entries that are durable. Anything newer is acknowledged from
  // on_durable() once the driver's sync covers it.
  Index durable = store_.durable_index();
  Index match = std::min(verified, durable);
  if (pending_ack_ && pending_ack_->leader == leader && pending_ack_->term == term()) {
    verified = std::max(verified, pending_ack_->upto);
    match = std::min(verified, durable);
  }
  if (match < verified) {
    pending_ack_ = PendingAck{leader, term(), verified};
  } else {
    pending_ack_.reset();
  }
  // A partial acknowledgement (match < verified) tells the leader we are alive while a sync
  // runs. Right after an append it would be one more message per round for nothing: the sync
  // that covers the new entries is about to start, and its acknowledgement follows.
  if (match == verified || (match > 0 && !appended)) {
    send(leader, AppendResponse{term(), true, match, 0, 0, 0});
  }
}

}  // namespace cohort::raft
