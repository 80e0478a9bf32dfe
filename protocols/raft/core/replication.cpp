#include "protocols/raft/core/replication.hpp"

#include "protocols/raft/core/assert.hpp"

namespace cohort::raft {

const char* propose_error_name(ProposeError e) {
  switch (e) {
    case ProposeError::none:
      return "none";
    case ProposeError::not_leader:
      return "not_leader";
    case ProposeError::transferring:
      return "transferring";
    case ProposeError::config_change_pending:
      return "config_change_pending";
    case ProposeError::leader_not_ready:
      return "leader_not_ready";
    case ProposeError::member_exists:
      return "member_exists";
    case ProposeError::not_a_member:
      return "not_a_member";
    case ProposeError::last_voter:
      return "last_voter";
  }
  return "?";
}

ReplicationCore::ReplicationCore(std::string id, LogStore& store, Configuration bootstrap,
                                 ReplicationOptions options)
    : id_(std::move(id)), store_(store), bootstrap_(std::move(bootstrap)), options_(options) {
  COHORT_ASSERT(options_.max_append_entries >= 1 && options_.snapshot_chunk_size >= 1);
  COHORT_ASSERT(options_.heartbeat_interval_ticks >= 1);
  // §3.8 restart: committed state is not persisted; it restarts from the snapshot.
  SnapshotMeta snap = store_.snapshot_meta();
  commit_ = applied_ = snap.last_index;
  restore_pending_ = snap.last_index > 0;
  rebuild_configs();
}

Term ReplicationCore::term_at(Index i) const {
  if (i == 0) return 0;
  COHORT_ASSERT(i + 1 >= store_.first_index() && i <= store_.last_index());
  return store_.term_at(i);
}

void ReplicationCore::send(const std::string& to, MessageBody body) {
  messages_.push_back(Message{id_, to, std::move(body)});
}

LogInfo ReplicationCore::log_info() const {
  Index last = store_.last_index();
  const auto* previous = &configs_.back().second;
  if (configs_.back().first > commit_ && configs_.size() > 1) {
    previous = &configs_[configs_.size() - 2].second;
  }
  return LogInfo{last, term_at(last), commit_, &configs_.back().second, previous};
}

const Progress* ReplicationCore::progress(const std::string& id) const {
  auto it = progress_.find(id);
  return it == progress_.end() ? nullptr : &it->second;
}

bool ReplicationCore::caught_up(const std::string& id) const {
  auto* pr = progress(id);
  return leader_ && pr && pr->match == store_.last_index();
}

void ReplicationCore::became_leader(Term term) {
  COHORT_ASSERT(term == this->term());
  leader_ = true;
  leader_id_ = id_;
  pending_ack_.reset();
  incoming_.reset();
  progress_.clear();
  heartbeat_elapsed_ticks_ = 0;
  sync_progress();
  // §3.6.2 / §6.4: a new leader commits entries of earlier terms through a no-op of its own term.
  append_local(EntryType::noop, Buffer());
  maybe_commit();
}

void ReplicationCore::became_follower(Term term, const std::string& leader) {
  leader_ = false;
  leader_id_ = leader;
  progress_.clear();
  snapshot_cache_.reset();
  if (pending_ack_ && (pending_ack_->term != term || pending_ack_->leader != leader)) {
    pending_ack_.reset();
  }
}

Index ReplicationCore::append_local(EntryType type, Buffer data) {
  COHORT_ASSERT(leader_);
  Entry e{term(), store_.last_index() + 1, type, std::move(data)};
  store_.append(std::span(&e, 1));
  if (type == EntryType::config) track_config(e);
  return e.index;
}

ProposeResult ReplicationCore::propose(Buffer command) {
  if (!leader_) return {0, ProposeError::not_leader};
  return {append_local(EntryType::command, std::move(command)), ProposeError::none};
}

ProposeResult ReplicationCore::propose_batch(std::vector<Buffer> commands) {
  if (!leader_) return {0, ProposeError::not_leader};
  COHORT_ASSERT(!commands.empty());
  std::vector<Entry> entries;
  entries.reserve(commands.size());
  Index next = store_.last_index() + 1;
  for (auto& c : commands)
    entries.push_back(Entry{term(), next++, EntryType::command, std::move(c)});
  store_.append(entries);
  return {entries.front().index, ProposeError::none};
}

void ReplicationCore::tick() {
  if (!leader_) return;
  if (++heartbeat_elapsed_ticks_ >= options_.heartbeat_interval_ticks) {
    heartbeat_elapsed_ticks_ = 0;
    send_heartbeats();
  }
}

void ReplicationCore::step(const Message& m) {
  COHORT_ASSERT(election_ != nullptr);
  if (auto* a = std::get_if<AppendRequest>(&m.body)) {
    handle_append(m.from, *a);
  } else if (auto* ar = std::get_if<AppendResponse>(&m.body)) {
    handle_append_response(m.from, *ar);
  } else if (auto* s = std::get_if<SnapshotRequest>(&m.body)) {
    handle_snapshot(m.from, *s);
  } else if (auto* sr = std::get_if<SnapshotResponse>(&m.body)) {
    handle_snapshot_response(m.from, *sr);
  } else {
    COHORT_ASSERT(!"not a replication message");
  }
}

void ReplicationCore::on_durable(Index /*synced_index*/) {
  // The store's durable_index() already accounts for truncations that raced with the sync.
  if (leader_) {
    maybe_commit();
  } else if (pending_ack_ && pending_ack_->term == term()) {
    acknowledge(pending_ack_->leader, pending_ack_->upto, /*appended=*/false);
  }
}

void ReplicationCore::flush() {
  if (!leader_) return;
  for (auto& [id, pr] : progress_)
    send_append(id, pr);
}

ApplyBatch ReplicationCore::take_apply() {
  ApplyBatch out;
  if (restore_pending_) {
    out.snapshot = store_.load_snapshot();
    COHORT_ASSERT(out.snapshot.has_value() && out.snapshot->first.last_index == applied_);
    restore_pending_ = false;
  }
  if (commit_ > applied_) {
    out.entries = store_.entries(applied_ + 1, commit_, options_.max_apply_bytes);
    COHORT_ASSERT(!out.entries.empty() && out.entries.front().index == applied_ + 1);
    applied_ = out.entries.back().index;
  }
  return out;
}

}  // namespace cohort::raft
