#pragma once
// A seeded whole-cluster simulator over raft::Node (DESIGN §8): virtual time, a network that
// drops, duplicates, reorders, delays and partitions (every message goes through the wire
// codec), asynchronous durability with random delay, crashes that lose unsynced data, restarts,
// client proposals, snapshots, membership changes and leadership transfers. Invariants are
// checked after every event; a failure throws SimFailure naming the seed.
#include <cstdint>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "protocols/raft/core/node.hpp"
#include "protocols/raft/core/quorum.hpp"
#include "protocols/raft/log/memory_log_store.hpp"

namespace cohort::raft::sim {

struct SimFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct SimOptions {
  int voters = 3;               ///< initial voters
  int spares = 2;               ///< servers that may be added later
  uint64_t fault_time = 2000;   ///< virtual time units with faults
  uint64_t settle_time = 4000;  ///< time allowed after faults stop for a leader + a commit
  uint32_t tick_units = 10;     ///< one node tick every this many units
};

struct SimResult {
  uint64_t trace_hash = 0;
  uint64_t events = 0;
  uint64_t commits = 0;  ///< highest committed index seen
  uint64_t elections = 0;
  uint64_t crashes = 0;
  uint64_t snapshots_installed = 0;
  uint64_t config_changes = 0;
};

/// A MemoryLogStore that remembers the lowest index appended since the last check.
class SimStore : public MemoryLogStore {
 public:
  void append(std::span<const Entry> es) override {
    if (!es.empty()) dirty_from = std::min(dirty_from, es.front().index);
    MemoryLogStore::append(es);
  }
  Index dirty_from = 1;
};

class Simulation {
 public:
  Simulation(uint64_t seed, SimOptions options);
  /// Runs the fault phase and the liveness phase; throws SimFailure on any violation.
  SimResult run();

 private:
  struct Server {
    std::string id;
    std::unique_ptr<SimStore> store;
    std::unique_ptr<Node> node;
    Configuration bootstrap;
    bool up = true;
    uint64_t incarnation = 0;
    bool sync_in_flight = false;
    uint32_t tick_phase = 0;
    Index last_commit = 0;
    Index applied = 0;
    uint64_t chain = 0;  ///< hash chain over applied entries (the state machine)
    uint64_t restart_at = 0;
    int group = 0;  ///< partition group
  };
  struct Event {
    uint64_t time;
    uint64_t seq;
    int kind;  // 0 deliver, 1 sync done
    size_t server;
    uint64_t incarnation;
    Buffer wire;
    bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };

  void fail(const std::string& what);
  void trace(uint64_t a, uint64_t b = 0);
  uint64_t rand(uint64_t n) { return n ? rng_() % n : 0; }
  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  size_t index_of(const std::string& id) const;

  void start(Server& s);
  void process(size_t i);
  void send(const Message& m);
  void deliver(const Event& e);
  void sync_done(const Event& e);
  void apply(Server& s, const Entry& e);
  void restore(Server& s, Index index, const Buffer& data);
  void crash(size_t i);
  void restart(size_t i);
  void random_fault();
  int leader_index() const;

  void check(size_t i);
  void check_log(Server& s);
  void check_commit(Server& s);
  void check_leader_completeness(Server& s);

  const uint64_t seed_;
  const SimOptions options_;
  std::mt19937_64 rng_;
  NodeOptions node_options_;
  std::vector<Server> servers_;
  std::priority_queue<Event, std::vector<Event>, std::greater<>> queue_;
  uint64_t now_ = 0;
  uint64_t seq_ = 0;
  bool faults_ = true;
  bool partitioned_ = false;
  uint64_t heal_at_ = 0;
  uint64_t proposals_ = 0;
  bool live_ = false;  ///< a command proposed after the faults stopped was applied
  SimResult result_;

  // Global knowledge for the invariants.
  std::map<Term, std::string> leaders_;                                  ///< election safety
  std::map<std::pair<Index, Term>, std::pair<uint64_t, Term>> entries_;  ///< log matching
  std::map<Index, Term> committed_;                                      ///< leader completeness
  std::map<Index, uint64_t> chains_;                                     ///< state machine safety
};

/// FNV-1a over bytes, chained.
uint64_t fnv(uint64_t h, const void* data, size_t n);

}  // namespace cohort::raft::sim
