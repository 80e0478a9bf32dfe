#include "raft_sim/sim.hpp"

#include <algorithm>
#include <sstream>

#include "stack/codec.hpp"

namespace cohort::raft::sim {

uint64_t fnv(uint64_t h, const void* data, size_t n) {
  auto* p = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < n; ++i)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

namespace {
uint64_t entry_hash(const Entry& e) {
  uint64_t h = 1469598103934665603ull;
  uint8_t t = static_cast<uint8_t>(e.type);
  h = fnv(h, &e.term, sizeof e.term);
  h = fnv(h, &t, 1);
  return fnv(h, e.data.data(), e.data.size());
}
}  // namespace

Simulation::Simulation(uint64_t seed, SimOptions options)
    : seed_(seed), options_(options), rng_(seed * 0x9e3779b97f4a7c15ull + 1) {
  node_options_.election.election_timeout_min_ticks = 10;
  node_options_.election.election_timeout_max_ticks = 20;
  node_options_.replication.heartbeat_interval_ticks = 2;
  node_options_.replication.max_append_entries = 1 + rand(4);
  node_options_.replication.max_append_bytes = 40 + rand(100);
  node_options_.replication.max_inflight_bytes = 60 + rand(300);
  node_options_.replication.snapshot_chunk_size = 8 + rand(40);
  std::vector<std::string> voters;
  for (int i = 0; i < options_.voters + options_.spares; ++i) {
    Server s;
    s.id = "n" + std::to_string(i);
    s.store = std::make_unique<SimStore>();
    s.tick_phase = static_cast<uint32_t>(rand(options_.tick_units));
    if (i < options_.voters) voters.push_back(s.id);
    servers_.push_back(std::move(s));
  }
  for (int i = 0; i < options_.voters; ++i)
    servers_[i].bootstrap = make_configuration(voters);
  for (auto& s : servers_)
    start(s);
}

void Simulation::fail(const std::string& what) {
  std::ostringstream os;
  os << "raft simulation failed at t=" << now_ << ": " << what << "\n  seed " << seed_
     << "; replay with: COHORT_SIM_SEED=" << seed_ << " test_raft_sim";
  throw SimFailure(os.str());
}

void Simulation::trace(uint64_t a, uint64_t b) {
  uint64_t v[3] = {now_, a, b};
  result_.trace_hash = fnv(result_.trace_hash, v, sizeof v);
}

size_t Simulation::index_of(const std::string& id) const {
  for (size_t i = 0; i < servers_.size(); ++i) {
    if (servers_[i].id == id) return i;
  }
  return servers_.size();
}

void Simulation::start(Server& s) {
  s.node = std::make_unique<Node>(s.id, *s.store, s.bootstrap, rng_(), node_options_);
  s.up = true;
  ++s.incarnation;
  s.sync_in_flight = false;
  s.last_commit = s.node->replication().commit_index();
  s.applied = 0;
  s.chain = 0;
  s.store->dirty_from = 1;
}

void Simulation::send(const Message& m) {
  size_t to = index_of(m.to);
  if (to == servers_.size()) fail("message to unknown server " + m.to);
  Buffer wire = encode_message(m);
  int copies = 1;
  if (faults_) {
    if (chance(0.05))
      copies = 0;
    else if (chance(0.03))
      copies = 2;
  }
  for (int c = 0; c < copies; ++c) {
    uint64_t delay = 1 + rand(faults_ ? 30 : 8);
    queue_.push(Event{now_ + delay, seq_++, 0, to, 0, wire});
  }
}

void Simulation::process(size_t i) {
  Server& s = servers_[i];
  if (!s.up) return;
  for (int round = 0;; ++round) {
    if (round > 1000) fail("Ready loop does not settle on " + s.id);
    Ready rd = s.node->take_ready();
    // 1. persist the hard state before sending anything that depends on it
    if (rd.hard_state) s.store->save_hard_state(*rd.hard_state);
    if (rd.term_state) {
      trace(0x7e, rd.term_state->term * 8 + static_cast<uint64_t>(rd.term_state->role));
      if (rd.term_state->role == Role::leader) ++result_.elections;
    }
    // 2. send
    for (const auto& m : rd.messages)
      send(m);
    // 3. durability is asynchronous: one sync in flight, covering everything appended by then
    if (rd.needs_sync && !s.sync_in_flight) {
      s.sync_in_flight = true;
      queue_.push(Event{now_ + 1 + rand(15), seq_++, 1, i, s.incarnation, Buffer()});
    }
    // 4. restore, then apply in order
    if (rd.snapshot) restore(s, rd.snapshot->first.last_index, rd.snapshot->second);
    for (const auto& e : rd.committed)
      apply(s, e);
    check(i);
    if (rd.committed.empty() && !rd.snapshot && rd.messages.empty() && !rd.hard_state) return;
  }
}

void Simulation::apply(Server& s, const Entry& e) {
  if (e.index != s.applied + 1) fail(s.id + " applied out of order at " + std::to_string(e.index));
  uint64_t h = entry_hash(e);
  s.chain = fnv(s.chain, &h, sizeof h);
  s.applied = e.index;
  if (!faults_ && e.type == EntryType::command && e.data.view().starts_with("final")) live_ = true;
  auto [it, fresh] = chains_.emplace(e.index, s.chain);
  if (!fresh && it->second != s.chain) {
    fail("state machine safety: " + s.id + " applied a different entry at " +
         std::to_string(e.index));
  }
}

void Simulation::restore(Server& s, Index index, const Buffer& data) {
  codec::Reader r(data);
  Index at = r.u64();
  uint64_t chain = r.u64();
  if (!r.ok() || at != index) fail(s.id + " got a malformed snapshot");
  auto it = chains_.find(index);
  if (it != chains_.end() && it->second != chain) {
    fail("state machine safety: snapshot of " + s.id + " differs at " + std::to_string(index));
  }
  s.applied = index;
  s.chain = chain;
  ++result_.snapshots_installed;
}

void Simulation::deliver(const Event& e) {
  Server& s = servers_[e.server];
  Message m;
  if (!decode_message(e.wire, m)) fail("a message failed to decode");
  if (!s.up) return;
  if (partitioned_ && servers_[index_of(m.from)].group != s.group) return;
  trace(0xde, fnv(e.server, e.wire.data(), std::min<size_t>(e.wire.size(), 24)));
  s.node->step(m);
  process(e.server);
}

void Simulation::sync_done(const Event& e) {
  Server& s = servers_[e.server];
  if (!s.up || s.incarnation != e.incarnation) return;
  s.sync_in_flight = false;
  Index d = s.store->sync();
  trace(0x5c, d);
  s.node->on_durable(d);
  process(e.server);
}

void Simulation::crash(size_t i) {
  Server& s = servers_[i];
  if (!s.up) return;
  trace(0xc0, i);
  ++result_.crashes;
  s.store->crash();
  s.node.reset();
  s.up = false;
  s.restart_at = now_ + 30 + rand(400);
}

void Simulation::restart(size_t i) {
  trace(0x2e, i);
  start(servers_[i]);
  process(i);
}

int Simulation::leader_index() const {
  // The leader of the highest term among up servers that believe they lead.
  int best = -1;
  for (size_t i = 0; i < servers_.size(); ++i) {
    const auto& s = servers_[i];
    if (!s.up || !s.node->is_leader()) continue;
    if (best < 0 || s.node->term_state().term > servers_[best].node->term_state().term) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

void Simulation::random_fault() {
  size_t n = servers_.size();
  size_t i = rand(n);
  Server& s = servers_[i];
  if (chance(0.0015)) crash(i);
  if (!partitioned_ && chance(0.0015)) {
    partitioned_ = true;
    heal_at_ = now_ + 50 + rand(500);
    for (auto& x : servers_)
      x.group = static_cast<int>(rand(2));
    trace(0x9a, heal_at_);
  }
  int l = leader_index();
  if (l < 0) return;
  Node& leader = *servers_[l].node;
  if (chance(0.06)) {
    std::string cmd = "c" + std::to_string(++proposals_);
    leader.propose(Buffer::copy_of(cmd));
    process(l);
  }
  if (chance(0.004) && s.up && s.applied > s.store->snapshot_meta().last_index) {
    codec::Writer w;
    w.u64(s.applied);
    w.u64(s.chain);
    w.raw(std::vector<uint8_t>(rand(120), static_cast<uint8_t>(s.applied)));
    s.node->take_snapshot(s.applied, w.take_buffer());
    trace(0x55, i);
    process(i);
  }
  if (chance(0.004)) {
    const Configuration& c = leader.replication().configuration();
    ProposeResult r;
    if (!c.contains(s.id)) {
      r = leader.add_server(s.id);
    } else if (c.voters.size() > 1 || !c.is_voter(s.id)) {
      r = leader.remove_server(s.id);
    }
    if (r.ok()) {
      ++result_.config_changes;
      trace(0xcc, i);
    }
    process(l);
  }
  if (chance(0.002)) {
    leader.transfer_leadership(s.id);
    process(l);
  }
  if (chance(0.002) && s.up && s.node->term_state().leader == servers_[l].id) {
    s.node->leader_lost(servers_[l].id);
    process(i);
  }
}

SimResult Simulation::run() {
  uint64_t end = options_.fault_time + options_.settle_time;
  uint64_t final_proposed_at = 0;
  for (now_ = 0; now_ < end; ++now_) {
    if (faults_ && now_ >= options_.fault_time) {
      // Faults stop: heal, restart everything, deliver reliably.
      faults_ = false;
      partitioned_ = false;
      for (size_t i = 0; i < servers_.size(); ++i) {
        if (!servers_[i].up) restart(i);
      }
    }
    while (!queue_.empty() && queue_.top().time <= now_) {
      Event e = queue_.top();
      queue_.pop();
      ++result_.events;
      if (e.kind == 0) {
        deliver(e);
      } else {
        sync_done(e);
      }
    }
    for (size_t i = 0; i < servers_.size(); ++i) {
      Server& s = servers_[i];
      if (!s.up && faults_ && now_ >= s.restart_at) restart(i);
      if (s.up && (now_ + s.tick_phase) % options_.tick_units == 0) {
        s.node->tick();
        process(i);
      }
    }
    if (partitioned_ && now_ >= heal_at_) {
      partitioned_ = false;
      trace(0x9b);
    }
    if (faults_) {
      random_fault();
      continue;
    }
    // Liveness: after the faults stop a leader emerges and a new command commits.
    int l = leader_index();
    if (l >= 0 && (final_proposed_at == 0 || now_ - final_proposed_at > 300)) {
      if (servers_[l].node->propose(Buffer::copy_of("final" + std::to_string(now_))).ok()) {
        final_proposed_at = now_;
        process(l);
      }
    }
    if (live_) {
      result_.commits = committed_.empty() ? 0 : committed_.rbegin()->first;
      return result_;
    }
  }
  std::ostringstream os;
  os << "liveness: no leader committed a new command within " << options_.settle_time
     << " units after the faults stopped; servers:";
  for (const auto& s : servers_) {
    TermState ts = s.node->term_state();
    const auto& r = s.node->replication();
    os << "\n    " << s.id << " term " << ts.term << " " << role_name(ts.role) << " leader '"
       << ts.leader << "' commit " << r.commit_index() << " last " << r.last_index() << " durable "
       << s.store->durable_index() << " config voters";
    for (const auto& v : r.configuration().voters)
      os << " " << v;
    os << " learners";
    for (const auto& v : r.configuration().learners)
      os << " " << v;
    os << " (at " << r.configuration_index() << ")";
    for (const auto& o : servers_) {
      if (auto* p = r.progress(o.id)) {
        os << " [" << o.id << " " << mode_name(p->mode) << " m" << p->match << " n" << p->next
           << "]";
      }
    }
  }
  fail(os.str());
  return result_;
}

// ---- invariants ----

void Simulation::check(size_t i) {
  Server& s = servers_[i];
  TermState ts = s.node->term_state();
  if (ts.role == Role::leader) {
    auto [it, fresh] = leaders_.emplace(ts.term, s.id);
    if (!fresh && it->second != s.id) {
      fail("election safety: " + it->second + " and " + s.id + " both lead term " +
           std::to_string(ts.term));
    }
    if (fresh) check_leader_completeness(s);
  }
  check_log(s);
  check_commit(s);
}

void Simulation::check_log(Server& s) {
  // Log matching (§3.5): every (index, term) has one content and one predecessor term across
  // all logs; by induction equal (index, term) means equal prefixes.
  Index first = s.store->first_index(), last = s.store->last_index();
  Index from = std::max(s.store->dirty_from, first);
  if (from <= last) {
    auto es = s.store->entries(from, last, SIZE_MAX);
    for (const auto& e : es) {
      Term prev = e.index - 1 >= first - 1 ? s.store->term_at(e.index - 1) : 0;
      auto value = std::make_pair(entry_hash(e), prev);
      auto [it, fresh] = entries_.emplace(std::make_pair(e.index, e.term), value);
      if (!fresh && it->second != value) {
        fail("log matching: " + s.id + " holds a different entry at index " +
             std::to_string(e.index) + " term " + std::to_string(e.term));
      }
    }
  }
  s.store->dirty_from = last + 1;
}

void Simulation::check_commit(Server& s) {
  const ReplicationCore& r = s.node->replication();
  Index commit = r.commit_index();
  if (commit < s.last_commit) {
    fail("commit index of " + s.id + " went back from " + std::to_string(s.last_commit) + " to " +
         std::to_string(commit));
  }
  if (r.applied_index() > commit) fail("applied beyond committed on " + s.id);
  if (s.applied != r.applied_index()) fail("state machine and core disagree on applied");
  if (commit == s.last_commit) return;
  Index first = s.store->first_index();
  for (Index i = std::max(s.last_commit + 1, first); i <= commit; ++i) {
    Term t = s.store->term_at(i);
    auto [it, fresh] = committed_.emplace(i, t);
    if (!fresh && it->second != t) {
      fail("two different entries committed at index " + std::to_string(i));
    }
    if (fresh) {
      // Leader completeness for leaders elected before this commit was observed.
      for (auto& o : servers_) {
        if (!o.up || !o.node->is_leader() || o.node->term_state().term <= t) continue;
        if (i >= o.store->first_index() &&
            (i > o.store->last_index() || o.store->term_at(i) != t)) {
          fail("leader completeness: leader " + o.id + " lacks committed entry " +
               std::to_string(i));
        }
      }
    }
  }
  if (s.node->is_leader() && commit >= first) {
    // Commit never beyond what a durable majority of the leader's voters holds.
    Term t = s.store->term_at(commit);
    const Configuration& c = r.configuration();
    size_t holding = 0;
    for (const auto& v : c.voters) {
      size_t k = index_of(v);
      if (k < servers_.size() && servers_[k].store->durably_holds(commit, t)) ++holding;
    }
    if (holding < majority(c.voters.size())) {
      fail("commit index " + std::to_string(commit) + " of leader " + s.id +
           " is not held durably by a majority");
    }
  }
  s.last_commit = commit;
}

void Simulation::check_leader_completeness(Server& s) {
  // §3.6: a new leader's log holds every entry committed so far.
  Term term = s.node->term_state().term;
  Index first = s.store->first_index(), last = s.store->last_index();
  for (const auto& [i, t] : committed_) {
    if (i < first || t >= term) continue;
    if (i > last || s.store->term_at(i) != t) {
      fail("leader completeness: new leader " + s.id + " of term " + std::to_string(term) +
           " lacks committed entry " + std::to_string(i));
    }
  }
}

}  // namespace cohort::raft::sim
