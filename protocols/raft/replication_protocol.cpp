#include "protocols/raft/replication_protocol.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <sstream>
#include <stdexcept>

#include "protocols/raft/core/assert.hpp"
#include "protocols/raft/core/replication.hpp"
#include "protocols/raft/log/log_store.hpp"
#include "protocols/raft/raft_header.hpp"
#include "protocols/raft/state_machine.hpp"
#include "stack/protocol_ids.hpp"
#include "stack/protocol_stack.hpp"
#include "stack/transport.hpp"
#include "stack/view.hpp"

namespace cohort::raft {

namespace {
std::vector<std::string> split_ids(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string id; std::getline(ss, id, ',');) {
    while (!id.empty() && id.front() == ' ')
      id.erase(id.begin());
    while (!id.empty() && id.back() == ' ')
      id.pop_back();
    if (!id.empty()) out.push_back(id);
  }
  return out;
}
}  // namespace

ReplicationProtocol::ReplicationProtocol()
    : Protocol("REPLICATION"),
      proposals_(counter("proposals", "commands appended as leader")),
      applied_(counter("applied", "entries applied to the state machine")),
      syncs_(counter("syncs", "log store syncs (group commits)")),
      snapshots_(counter("snapshots", "snapshots taken")),
      malformed_(counter("malformed", "replication messages that failed to decode")),
      multicasts_(counter("multicast_appends", "AppendEntries sent once to the group")) {
  declare("members", members_, "the initial voters, by raft id (A,B,C)", true);
  declare("raft_id", raft_id_, "this member's raft id", true);
  declare("log", log_, "log store: memory or file");
  declare("log_dir", log_dir_, "folder of the file log store (locked by one process)");
  declare("tick_interval", tick_interval_, "granularity of the heartbeat timer");
  declare("heartbeat_interval", heartbeat_interval_, "leader heartbeats (< election timeout)");
  declare_size("max_log_size", max_log_size_, "log bytes that trigger a snapshot + compaction");
  declare("max_append_entries", max_append_entries_, "entries per AppendEntries");
  declare_size("max_append_bytes", max_append_bytes_, "entry bytes per AppendEntries");
  declare_size("max_inflight_bytes", max_inflight_bytes_,
               "bytes in flight per follower (pipelining window)");
  declare_size("snapshot_chunk_size", snapshot_chunk_size_, "bytes per InstallSnapshot chunk");
  declare("multicast_append", multicast_append_,
          "send each AppendEntries batch once to the group (transport multicast)");
  declare("follower_sync_on_loop", follower_sync_on_loop_,
          "a follower fsyncs on its loop thread (false: on the writer thread, as the leader)");
  register_header<RaftHeader>(protocol_id::replication, "REPLICATION");
}

ReplicationProtocol::~ReplicationProtocol() = default;

void ReplicationProtocol::init() {
  auto voters = split_ids(members_);
  if (voters.empty()) throw std::invalid_argument("members: at least one raft id is needed");
  if (raft_id_.empty()) throw std::invalid_argument("raft_id: must not be empty");
  if (log_ != "memory" && log_ != "file")
    throw std::invalid_argument("log: must be memory or file");
  if (log_ == "file" && log_dir_.empty())
    throw std::invalid_argument("log_dir: required with log=\"file\"");
  if (heartbeat_interval_ < tick_interval_)
    throw std::invalid_argument("heartbeat_interval: must be >= tick_interval");
  bootstrap_ = make_configuration(voters);
  // A member not in `members` starts with an empty configuration and waits to be added.
  if (!bootstrap_.contains(raft_id_)) bootstrap_ = Configuration{};
}

void ReplicationProtocol::start() {
  auto* transport = dynamic_cast<Transport*>(stack().bottom());
  multicast_ = multicast_append_ && transport && transport->supports_multicast();
  if (multicast_append_ && !multicast_)
    spdlog::warn("REPLICATION {}: multicast_append needs a transport that can multicast; off",
                 raft_id_);
  open();
}

void ReplicationProtocol::open() {
  try {
    store_ = injected_store_ ? injected_store_
                             : std::shared_ptr<LogStore>(make_log_store(log_, log_dir_));
  } catch (const std::exception& e) {
    fail(fmt::format("cannot open the {} log store: {}", log_, e.what()));
    return;
  }
  ReplicationOptions opts;
  opts.max_append_entries = max_append_entries_;
  opts.max_append_bytes = max_append_bytes_;
  opts.max_inflight_bytes = max_inflight_bytes_;
  opts.snapshot_chunk_size = snapshot_chunk_size_;
  opts.heartbeat_interval_ticks =
      std::max<uint32_t>(1, static_cast<uint32_t>(heartbeat_interval_ / tick_interval_));
  core_ = std::make_unique<ReplicationCore>(raft_id_, *store_, bootstrap_, opts);
  // Restore the state machine's cluster time from the snapshot, if any.
  attach_.raft_id = raft_id_;
  attach_.restored = store_->hard_state();
  attach_.replication = core_.get();
  attach_.addresses = &addresses_;
  attach_.persist = [this](const HardState& hs) {
    try {
      store_->save_hard_state(hs);
    } catch (const std::exception& e) {
      fail(fmt::format("cannot persist term/vote: {}", e.what()));
    }
  };
  attach_.drive_replication = [this] { drive(); };
  Event ev(raft_event::attach, &attach_);
  std::any r = down_protocol()->down(ev);
  if (!r.has_value()) throw std::logic_error("REPLICATION needs ELECTION below it in the stack");
  election_ = std::any_cast<ElectionAttachment>(r);
  core_->set_election(election_.election);
  Event local(event::local_address);
  if (auto a = down_protocol()->down(local); a.has_value())
    addresses_.learn(raft_id_, std::any_cast<Address>(a));
  timer_ = runtime().schedule(tick_interval_, [this] { tick(); });
  drive();
}

void ReplicationProtocol::stop() {
  timer_.cancel();
  core_.reset();
  store_.reset();
}

void ReplicationProtocol::fail(const std::string& what) {
  if (error_.empty()) spdlog::error("REPLICATION {}: {}", raft_id_, what);
  error_ = what;
  timer_.cancel();
}

void ReplicationProtocol::tick() {
  if (!core_ || !error_.empty()) return;
  timer_ = runtime().schedule(tick_interval_, [this] { tick(); });
  core_->tick();
  drive();
}

void ReplicationProtocol::drive() {
  if (!core_ || !error_.empty()) return;
  if (driving_) {  // re-entered through the election port: finish in the outer call
    drive_again_ = true;
    return;
  }
  driving_ = true;
  do {
    drive_again_ = false;
    try {
      append_staged();
      core_->flush();
      election_.flush_election();  // term/vote durable before any replication message
      send_all(core_->take_messages());
      maybe_sync();
      apply_committed();
      maybe_snapshot();
    } catch (const StoreError& e) {
      fail(e.what());
    }
    bool leader = core_->is_leader();
    if (leader && !was_leader_) {
      stamp_base_ms_ = std::max(cluster_time_ms_, last_stamp_);
      stamp_epoch_ = runtime().now();
    }
    was_leader_ = leader;
  } while (drive_again_ && error_.empty());
  driving_ = false;
}

void ReplicationProtocol::send_all(std::vector<raft::Message> msgs) {
  if (!multicast_) {
    for (auto& m : msgs)
      send(m);
    return;
  }
  // multicast_append: identical AppendEntries for several followers go out once, to the group
  // (thesis §10.2 notes the leader's outgoing bandwidth as the bottleneck of large clusters).
  // A follower that misses it falls behind and is repaired by the normal rejection path.
  std::vector<bool> sent(msgs.size(), false);
  for (size_t i = 0; i < msgs.size(); ++i) {
    if (sent[i]) continue;
    const auto* a = std::get_if<AppendRequest>(&msgs[i].body);
    size_t same = 0;
    if (a && !a->entries.empty())
      for (size_t j = i + 1; j < msgs.size(); ++j)
        if (!sent[j])
          if (const auto* b = std::get_if<AppendRequest>(&msgs[j].body); b && *a == *b) {
            sent[j] = true;
            ++same;
          }
    if (same == 0) {
      send(msgs[i]);
      continue;
    }
    raft::Message group = msgs[i];
    group.to.clear();
    cohort::Message msg(Address(), encode_message(group));
    msg.put_header(protocol_id::replication, RaftHeader::instance());
    ++multicasts_;
    down_protocol()->down(msg);
  }
}

void ReplicationProtocol::send(const raft::Message& m) {
  cohort::Message msg(addresses_.find(m.to), encode_message(m));
  msg.put_header(protocol_id::replication, RaftHeader::instance());
  down_protocol()->down(msg);
}

void ReplicationProtocol::maybe_sync() {
  if (sync_in_flight_ || !core_->needs_sync()) return;
  if (!follower_sync_on_loop_ || core_->is_leader()) return start_sync(false);
  // A follower syncs on its loop, but first lets the rest of this loop turn's AppendEntries
  // (one socket read often holds several) append, so that one fsync covers them all.
  if (sync_posted_) return;
  sync_posted_ = true;
  runtime().post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    sync_posted_ = false;
    if (!core_ || !error_.empty() || sync_in_flight_ || !core_->needs_sync()) return;
    if (core_->is_leader()) return drive();  // elected meanwhile: the leader's way
    start_sync(true);
  });
}

void ReplicationProtocol::start_sync(bool on_loop) {
  sync_in_flight_ = true;
  ++syncs_;
  // The job shares ownership of the store: stop() does not wait for it, and a completion that
  // arrives after the store was replaced or closed is ignored.
  std::shared_ptr<LogStore> store = store_;
  auto result = std::make_shared<std::pair<Index, std::string>>(0, "");
  auto work = [store, result] {
    try {
      result->first = store->sync();
    } catch (const std::exception& e) {
      result->second = e.what();
    }
  };
  auto done = [this, store, result] {
    if (store != store_ || !core_) return;
    sync_in_flight_ = false;
    if (!result->second.empty()) return fail("log sync failed: " + result->second);
    core_->on_durable(result->first);
    drive();
  };
  if (on_loop)
    runtime().run_blocking(std::move(work), std::move(done));
  else
    runtime().offload(std::move(work), std::move(done));
}

void ReplicationProtocol::apply_committed() {
  ApplyBatch batch = core_->take_apply();
  if (batch.snapshot) {
    const Buffer& data = batch.snapshot->second;
    codec::Reader r(data);
    uint64_t t = r.u64();
    if (!r.ok()) return fail("snapshot without cluster time");
    cluster_time_ms_ = t;
    if (sm_) sm_->restore(data.slice(8, data.size() - 8));
    sm_applied_ = batch.snapshot->first.last_index;
  }
  for (const Entry& e : batch.entries) {
    ++applied_;
    // Reads and CLIENT replies triggered by the events below must see exactly the entries
    // applied so far, not the whole batch the core handed out.
    sm_applied_ = e.index;
    if (e.type != EntryType::command) continue;
    codec::Reader r(e.data);
    uint64_t stamp = r.u64();
    if (!r.ok()) return fail(fmt::format("entry {} has no cluster time", e.index));
    cluster_time_ms_ = std::max(cluster_time_ms_, stamp);
    ApplyContext ctx;
    ctx.index = e.index;
    ctx.term = e.term;
    ctx.cluster_time_ms = cluster_time_ms_;
    Buffer result;
    Buffer command = e.data.slice(8, e.data.size() - 8);
    if (sm_) {
      result = sm_->apply(ctx, command);
      sm_->advance_time(ctx);
    }
    Event ev(raft_event::applied, Applied{e.index, e.term, std::move(result)});
    up_protocol()->up(ev);
    if (sm_)
      for (auto& n : sm_->take_notifications()) {
        Event nev(raft_event::notification, std::move(n));
        up_protocol()->up(nev);
      }
  }
}

void ReplicationProtocol::maybe_snapshot() {
  if (!sm_ || store_->log_bytes() <= max_log_size_) return;
  Index at = core_->applied_index();
  if (at == 0 || at <= store_->snapshot_meta().last_index) return;
  codec::Writer w;
  w.u64(cluster_time_ms_);
  w.raw(sm_->snapshot().span());
  core_->take_snapshot(at, w.take_buffer());
  ++snapshots_;
}

uint64_t ReplicationProtocol::next_stamp() {
  auto elapsed =
      std::chrono::duration_cast<std::chrono::milliseconds>(runtime().now() - stamp_epoch_);
  last_stamp_ = std::max(last_stamp_, stamp_base_ms_ + static_cast<uint64_t>(elapsed.count()));
  return last_stamp_;
}

ProposeOutcome ReplicationProtocol::outcome(const ProposeResult& r) const {
  ProposeOutcome out;
  out.index = r.index;
  TermState ts = election_.election->term_state();
  out.term = ts.term;
  out.leader_hint = ts.leader;
  if (!r.ok()) out.error = propose_error_name(r.error);
  return out;
}

ProposeOutcome ReplicationProtocol::propose(Buffer command) {
  if (!error_.empty()) return ProposeOutcome{0, 0, "store_failed", {}};
  if (!core_) return ProposeOutcome{0, 0, "not_started", {}};
  if (election_.transferring()) return outcome({0, ProposeError::transferring});
  if (!core_->is_leader()) return outcome({0, ProposeError::not_leader});
  codec::Writer w(8 + command.size());
  w.u64(next_stamp());
  w.raw(command.span());
  // Staged, appended by the next drive together with the rest of this loop turn's proposals:
  // one log write for all of them instead of one each (the leader wrote every proposal on its
  // own: 256 pwrites per round with 256 proposers, where a follower writes the batch at once).
  if (staged_.empty()) {
    staged_term_ = election_.election->term_state().term;
    staged_first_ = core_->last_index() + 1;
  }
  const Index index = staged_first_ + staged_.size();
  staged_.push_back(w.take_buffer());
  ++proposals_;
  ProposeOutcome out = outcome({index, ProposeError::none});
  drive_soon();
  return out;
}

void ReplicationProtocol::append_staged() {
  if (staged_.empty()) return;
  std::vector<Buffer> commands;
  commands.swap(staged_);
  // Leadership lost since: the commands never enter the log. Their proposers see another entry
  // (or none) at the index they were given, as when an appended entry is truncated.
  if (!core_->is_leader() || election_.election->term_state().term != staged_term_) return;
  // The indexes promised to the proposers: nothing else may have been appended meanwhile
  // (a configuration change appends the staged commands first).
  ProposeResult r = core_->propose_batch(std::move(commands));
  COHORT_ASSERT(r.ok() && r.index == staged_first_);
}

void ReplicationProtocol::drive_soon() {
  // Proposals arriving in one loop turn (many clients, CLIENT forwarding a batch) share one
  // drive: one AppendEntries per follower instead of one per proposal. The entries are already
  // in the log; nothing is acknowledged before drive() has sent and synced them.
  if (driving_) {
    drive_again_ = true;
    return;
  }
  if (drive_posted_) return;
  drive_posted_ = true;
  runtime().post([this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    drive_posted_ = false;
    drive();
  });
}

RaftStatus ReplicationProtocol::status() const {
  RaftStatus s;
  s.raft_id = raft_id_;
  s.error = error_;
  if (!core_) return s;
  TermState ts = election_.election->term_state();
  s.leader = ts.leader;
  s.term = ts.term;
  s.role = ts.role;
  s.commit_index = core_->commit_index();
  s.applied_index = sm_applied_;
  s.last_index = core_->last_index() + staged_.size();
  s.durable_index = store_->durable_index();
  s.commit_in_term = s.commit_index > 0 && store_->last_index() >= s.commit_index &&
                     s.commit_index >= store_->first_index() - 1 &&
                     store_->term_at(s.commit_index) == s.term;
  s.voters = core_->configuration().voters;
  s.learners = core_->configuration().learners;
  return s;
}

void ReplicationProtocol::handle(const cohort::Message& msg) {
  if (!core_ || !error_.empty()) return;
  raft::Message m;
  std::string error;
  if (!decode_message(msg.payload(), m, &error)) return void(++malformed_);
  // An empty `to` is a multicast AppendEntries for every follower; our own comes back to us.
  if (m.from == raft_id_ || (m.to != raft_id_ && !m.to.empty())) return;
  addresses_.learn(m.from, msg.src());
  try {
    core_->step(m);
  } catch (const StoreError& e) {
    return fail(e.what());
  }
  // Heard from the leader of our term (the core took its AppendEntries or snapshot chunk):
  // stale reads report the time since (ReadOutcome::last_contact_ms).
  if ((std::holds_alternative<AppendRequest>(m.body) ||
       std::holds_alternative<SnapshotRequest>(m.body)) &&
      election_.election && election_.election->term_state().leader == m.from)
    leader_contact_ = runtime().now();
  drive();
}

void ReplicationProtocol::up(cohort::Message& msg) {
  if (msg.has_header(protocol_id::replication)) return handle(msg);
  Protocol::up(msg);
}

void ReplicationProtocol::up(cohort::MessageBatch& batch) {
  bool mine = false;
  for (auto& m : batch.messages)
    mine |= m.has_header(protocol_id::replication);
  if (mine) {
    std::erase_if(batch.messages, [this](cohort::Message& m) {
      if (!m.has_header(protocol_id::replication)) return false;
      handle(m);
      return true;
    });
  }
  if (!batch.empty()) Protocol::up(batch);
}

std::any ReplicationProtocol::up(Event& ev) {
  if (ev.type == event::view_change) {
    // Members whose logical name is a raft id are reachable at their address.
    for (const Address& a : ev.get<View>().members())
      if (!a.name().empty()) addresses_.learn(a.name(), a);
  }
  return Protocol::up(ev);
}

std::any ReplicationProtocol::down(Event& ev) {
  switch (ev.type) {
    case raft_event::propose:
      return propose(ev.get<ProposeRequest>().command);
    case raft_event::set_state_machine:
      sm_ = std::any_cast<StateMachine*>(ev.arg);
      return {};
    case raft_event::status:
      return status();
    case raft_event::membership: {
      if (!core_ || !core_->is_leader()) return outcome({0, ProposeError::not_leader});
      const auto& c = ev.get<MembershipChange>();
      try {
        append_staged();  // in proposal order: the commands proposed before the change
      } catch (const StoreError& e) {
        fail(e.what());
        return outcome({0, ProposeError::not_leader});
      }
      ProposeResult r = c.add ? core_->add_server(c.raft_id) : core_->remove_server(c.raft_id);
      ProposeOutcome out = outcome(r);
      drive();
      return out;
    }
    case raft_event::snapshot_now: {
      if (!core_ || !sm_ || core_->applied_index() == 0) return false;
      codec::Writer w;
      w.u64(cluster_time_ms_);
      w.raw(sm_->snapshot().span());
      core_->take_snapshot(core_->applied_index(), w.take_buffer());
      ++snapshots_;
      return true;
    }
    case raft_event::query: {
      QueryResult q;
      if (core_) {
        q.applied_index = sm_applied_;
        q.commit_index = core_->commit_index();
        if (election_.election && election_.election->term_state().role == Role::leader)
          q.last_contact_ms = 0;
        else if (!leader_contact_)
          q.last_contact_ms = ReadOutcome::never_contacted;
        else
          q.last_contact_ms =
              static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        runtime().now() - *leader_contact_)
                                        .count());
      }
      if (sm_) q.result = sm_->query(ev.get<Buffer>());
      return q;
    }
    case raft_event::address_of:
      return addresses_.find(ev.get<std::string>());
    default:
      return Protocol::down(ev);
  }
}

}  // namespace cohort::raft
