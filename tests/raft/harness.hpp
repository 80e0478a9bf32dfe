#pragma once
// A scripted cluster for scenario tests: every message goes through one FIFO queue that the test
// delivers, drops or filters explicitly; links can be cut; stores can lose unsynced data. No
// time passes unless a test ticks. Durability is immediate unless a node's auto_sync is off.
#include <doctest/doctest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "protocols/raft/core/node.hpp"
#include "protocols/raft/log/memory_log_store.hpp"

namespace cohort::raft::test {

inline Buffer bytes(std::string_view s) {
  return Buffer::copy_of(s);
}

/// Options for scripted tests: no timer fires unless the test ticks far enough.
inline NodeOptions quiet_options(bool pre_vote = true, bool check_quorum = true) {
  NodeOptions o;
  o.election.election_timeout_min_ticks = 10;
  o.election.election_timeout_max_ticks = 20;
  o.election.pre_vote = pre_vote;
  o.election.check_quorum = check_quorum;
  o.replication.heartbeat_interval_ticks = 2;
  return o;
}

struct Member {
  std::unique_ptr<MemoryLogStore> store = std::make_unique<MemoryLogStore>();
  std::unique_ptr<Node> node;
  Configuration bootstrap;
  bool up = true;
  bool auto_sync = true;
  std::vector<std::string> applied;  ///< commands applied, in order (the state machine)
  Index applied_index = 0;
};

class Harness {
 public:
  explicit Harness(std::vector<std::string> ids, NodeOptions options = quiet_options())
      : options_(options) {
    Configuration c = make_configuration(ids);
    for (const auto& id : ids)
      add(id, c);
  }

  /// A member that starts with `bootstrap` (empty: joins later through add_server).
  void add(const std::string& id, Configuration bootstrap = {}) {
    Member& m = members_[id];
    m.bootstrap = bootstrap;
    m.node = std::make_unique<Node>(id, *m.store, bootstrap, seed_++, options_);
  }

  Node& node(const std::string& id) { return *members_.at(id).node; }
  Member& member(const std::string& id) { return members_.at(id); }
  MemoryLogStore& store(const std::string& id) { return *members_.at(id).store; }

  /// Takes and executes every Ready of `id` (persist, queue messages, sync, apply).
  void process(const std::string& id) {
    Member& m = members_.at(id);
    if (!m.up) return;
    for (;;) {
      Ready rd = m.node->take_ready();
      if (rd.hard_state) m.store->save_hard_state(*rd.hard_state);
      for (auto& msg : rd.messages)
        queue.push_back(std::move(msg));
      if (rd.snapshot) restore(m, rd.snapshot->first.last_index, rd.snapshot->second);
      for (const auto& e : rd.committed) {
        CHECK(e.index == m.applied_index + 1);
        m.applied_index = e.index;
        if (e.type == EntryType::command) m.applied.push_back(e.data.str());
      }
      bool again = !rd.committed.empty() || rd.snapshot.has_value();
      if (rd.needs_sync && m.auto_sync) {
        m.node->on_durable(m.store->sync());
        again = true;
      }
      if (!again) return;
    }
  }

  /// Syncs `id`'s store now (for nodes with auto_sync off).
  void sync(const std::string& id) {
    Member& m = members_.at(id);
    m.node->on_durable(m.store->sync());
    process(id);
  }

  bool link_up(const std::string& a, const std::string& b) const {
    return !cut_.count({a, b}) && !cut_.count({b, a});
  }
  void cut(const std::string& a, const std::string& b) { cut_.insert({a, b}); }
  void isolate(const std::string& id) {
    for (auto& [other, m] : members_) {
      if (other != id) cut(id, other);
    }
  }
  void heal() { cut_.clear(); }

  /// Delivers the oldest queued message (dropped if its link is cut or its target is down).
  void deliver_one() {
    Message msg = std::move(queue.front());
    queue.pop_front();
    if (!link_up(msg.from, msg.to) || (filter && !filter(msg))) return;
    auto it = members_.find(msg.to);
    if (it == members_.end() || !it->second.up) return;
    it->second.node->step(msg);
    process(msg.to);
  }
  void deliver_all(size_t limit = 100000) {
    for (size_t n = 0; !queue.empty() && n < limit; ++n)
      deliver_one();
  }
  void drop_all() { queue.clear(); }

  void tick(const std::string& id, int n = 1) {
    for (int i = 0; i < n; ++i) {
      if (!members_.at(id).up) return;
      node(id).tick();
      process(id);
    }
  }
  /// Ticks every up member n times, delivering messages after each round.
  void tick_all(int n) {
    for (int i = 0; i < n; ++i) {
      for (auto& [id, m] : members_)
        tick(id);
      deliver_all();
    }
  }

  void campaign(const std::string& id) {
    node(id).campaign();
    process(id);
    deliver_all();
  }

  ProposeResult propose(const std::string& id, std::string_view cmd) {
    auto r = node(id).propose(bytes(cmd));
    process(id);
    return r;
  }

  /// Power loss: unsynced data is lost, the node object and its queue position are gone.
  void crash(const std::string& id) {
    Member& m = members_.at(id);
    m.store->crash();
    m.node.reset();
    m.up = false;
  }
  void restart(const std::string& id) {
    Member& m = members_.at(id);
    m.applied.clear();
    m.applied_index = 0;
    m.node = std::make_unique<Node>(id, *m.store, m.bootstrap, seed_++, options_);
    m.up = true;
    process(id);
  }

  std::string leader() const {
    std::string l;
    for (const auto& [id, m] : members_) {
      if (m.up && m.node->is_leader()) l = id;
    }
    return l;
  }

  std::deque<Message> queue;
  std::function<bool(const Message&)> filter;  ///< returns false to drop

  /// Snapshot encoding of the test state machine: its commands joined by '\n'.
  static Buffer encode_state(const std::vector<std::string>& applied) {
    std::string s;
    for (const auto& c : applied)
      s += c + "\n";
    return bytes(s);
  }
  void snapshot(const std::string& id) {
    Member& m = members_.at(id);
    m.node->take_snapshot(m.applied_index, encode_state(m.applied));
    process(id);
  }

 private:
  static void restore(Member& m, Index index, const Buffer& data) {
    m.applied.clear();
    std::string s = data.str();
    for (size_t p = 0; p < s.size();) {
      size_t q = s.find('\n', p);
      m.applied.push_back(s.substr(p, q - p));
      p = q + 1;
    }
    m.applied_index = index;
  }

  NodeOptions options_;
  uint64_t seed_ = 1;
  std::map<std::string, Member> members_;
  std::set<std::pair<std::string, std::string>> cut_;
};

}  // namespace cohort::raft::test
