// Membership changes, one server at a time (thesis §4.1–§4.2): a configuration takes effect as
// soon as it is appended and reverts if that entry is truncated; a new configuration may be
// proposed only once the previous one is committed and (errata, raft-dev 2015) once the leader
// has committed an entry of its own term; new servers join as learners and are promoted when
// caught up (§4.2.1); a leader that removed itself steps down once that commits (§4.2.2).
#include "protocols/raft/core/assert.hpp"
#include "protocols/raft/core/replication.hpp"

namespace cohort::raft {

ProposeResult ReplicationCore::check_config_change() const {
  if (!leader_) return {0, ProposeError::not_leader};
  if (configuration_index() > commit_) return {0, ProposeError::config_change_pending};
  if (term_at(commit_) != term()) return {0, ProposeError::leader_not_ready};
  return {};
}

ProposeResult ReplicationCore::add_server(const std::string& id) {
  if (auto r = check_config_change(); !r.ok()) return r;
  if (id.empty() || id.size() > max_raft_id_bytes) return {0, ProposeError::not_a_member};
  if (configuration().contains(id)) return {0, ProposeError::member_exists};
  append_config(configuration().with_learner(id));
  return {store_.last_index(), ProposeError::none};
}

ProposeResult ReplicationCore::remove_server(const std::string& id) {
  if (auto r = check_config_change(); !r.ok()) return r;
  const Configuration& c = configuration();
  if (!c.contains(id)) return {0, ProposeError::not_a_member};
  if (c.is_voter(id) && c.voters.size() == 1) return {0, ProposeError::last_voter};
  append_config(c.without(id));
  return {store_.last_index(), ProposeError::none};
}

void ReplicationCore::append_config(const Configuration& c) {
  append_local(EntryType::config, c.encode());
}

void ReplicationCore::track_config(const Entry& e) {
  COHORT_ASSERT(e.type == EntryType::config);
  COHORT_ASSERT(e.index > configs_.back().first);
  auto c = Configuration::decode(e.data);
  COHORT_ASSERT(c.has_value());  // config entries are written by leaders, never malformed
  configs_.emplace_back(e.index, std::move(*c));
  if (leader_) sync_progress();
}

void ReplicationCore::revert_configs(Index from) {
  // §4.1: a configuration reverts when its entry is removed by a conflicting append.
  while (configs_.size() > 1 && configs_.back().first >= from)
    configs_.pop_back();
  COHORT_ASSERT(configs_.back().first < from);
}

void ReplicationCore::rebuild_configs() {
  configs_.clear();
  SnapshotMeta snap = store_.snapshot_meta();
  if (snap.last_index > 0) {
    auto c = Configuration::decode(snap.config);
    COHORT_ASSERT(c.has_value());
    configs_.emplace_back(snap.last_index, std::move(*c));
  } else {
    configs_.emplace_back(0, bootstrap_);
  }
  for (Index i = store_.first_index(); i <= store_.last_index();) {
    auto batch = store_.entries(i, store_.last_index(), 1u << 20);
    for (const auto& e : batch) {
      if (e.type == EntryType::config) track_config(e);
    }
    i = batch.back().index + 1;
  }
}

Configuration ReplicationCore::config_at(Index i) const {
  for (auto it = configs_.rbegin(); it != configs_.rend(); ++it) {
    if (it->first <= i) return it->second;
  }
  COHORT_ASSERT(!"no configuration at index");
  return {};
}

void ReplicationCore::sync_progress() {
  // Every member of the latest configuration gets a progress entry. Members removed by an
  // uncommitted configuration keep theirs until it commits (after_commit prunes).
  Index next = store_.last_index() + 1;
  for (const auto& m : configuration().members()) {
    if (m == id_ || progress_.count(m)) continue;
    Progress pr;
    pr.become_probe(next);
    progress_.emplace(m, pr);
  }
}

void ReplicationCore::after_commit() {
  COHORT_ASSERT(leader_);
  if (configuration_index() > commit_) return;
  const Configuration& c = configuration();
  std::erase_if(progress_, [&](const auto& kv) { return !c.contains(kv.first); });
  if (!c.is_voter(id_)) {
    election_->step_down();  // §4.2.2
    return;
  }
  // §4.2.1: promote a learner once it holds everything committed (one change at a time).
  if (term_at(commit_) != term()) return;
  for (const auto& l : c.learners) {
    auto it = progress_.find(l);
    if (it != progress_.end() && it->second.match >= commit_) {
      append_config(c.promoted(l));
      return;
    }
  }
}

}  // namespace cohort::raft
