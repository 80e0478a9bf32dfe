#pragma once
// SimWorld: deterministic simulation of a whole cluster in one thread (DESIGN.md §2). Virtual
// time, one discrete-event queue ordered by (time, sequence), a seeded PRNG, per-node runtimes
// and a simulated network (SimNetwork) with per-link drop / delay / duplicate / reorder,
// partitions and node crash + restart. The same protocol code runs here as in production; a run
// is reproducible from its seed, and trace_hash() fingerprints the executed event sequence.
#include <cstdint>
#include <functional>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include "stack/runtime.hpp"
#include "stack/sim/sim_network.hpp"

namespace cohort::sim {

class SimRuntime;

class SimWorld {
 public:
  explicit SimWorld(uint64_t seed);
  ~SimWorld();

  uint64_t seed() const { return seed_; }
  Duration now() const { return now_; }
  std::mt19937_64& rng() { return rng_; }
  SimNetwork& network() { return network_; }

  /// A new node with its own runtime (PRNG seeded from the world seed and the node number).
  std::shared_ptr<SimRuntime> add_node(std::string name);
  const std::vector<std::shared_ptr<SimRuntime>>& nodes() const { return nodes_; }

  /// Runs the next event; false when the queue is empty.
  bool step();
  /// Runs events until virtual time `t` (events at exactly t included); time ends at t.
  void run_until(Duration t);
  void run_for(Duration d) { run_until(now_ + d); }
  /// Runs until pred() holds or `limit` virtual time passes; returns pred().
  bool run_until(const std::function<bool()>& pred, Duration limit);

  /// Fingerprint of everything executed so far (event times, nodes, network deliveries).
  uint64_t trace_hash() const { return hash_; }
  void mix(uint64_t v);
  uint64_t events_run() const { return events_run_; }

  // Used by SimRuntime.
  void schedule(int node, uint64_t incarnation, Duration at, std::shared_ptr<bool> cancelled,
                std::function<void()> fn);
  bool node_alive(int node, uint64_t incarnation) const;

 private:
  void purge_dead_front();
  struct Item {
    Duration at;
    uint64_t seq;
    int node;
    uint64_t incarnation;
    std::shared_ptr<bool> cancelled;
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Item& a, const Item& b) const {
      return a.at != b.at ? a.at > b.at : a.seq > b.seq;
    }
  };
  uint64_t seed_;
  std::mt19937_64 rng_;
  Duration now_{0};
  uint64_t seq_ = 0;
  uint64_t hash_ = 0xcbf29ce484222325ull;
  uint64_t events_run_ = 0;
  std::priority_queue<Item, std::vector<Item>, Later> queue_;
  std::vector<std::shared_ptr<SimRuntime>> nodes_;
  SimNetwork network_;
};

/// One node's Runtime inside a SimWorld. Single-threaded: in_loop() is always true.
class SimRuntime : public Runtime {
 public:
  SimRuntime(SimWorld& world, int id, std::string name, uint64_t seed);

  Duration now() const override { return world_.now(); }
  TimerHandle schedule(Duration delay, std::function<void()> fn) override;
  void post(std::function<void()> fn) override;
  void offload(std::function<void()> work, std::function<void()> done) override;
  /// `work` runs at once; the node is then busy for an offload-long virtual time (its events
  /// wait), after which `done` runs first.
  void run_blocking(std::function<void()> work, std::function<void()> done) override;
  std::mt19937_64& rng() override { return rng_; }
  bool in_loop() const override { return true; }
  /// Crashes the node: every pending timer, post and offloaded work of this incarnation is
  /// dropped. A new stack may then be started on the same runtime (a restart).
  void shutdown() override { crash(); }

  void crash() {
    ++incarnation_;
    busy_until_ = Duration(0);
  }
  bool alive(uint64_t incarnation) const { return incarnation == incarnation_; }
  uint64_t incarnation() const { return incarnation_; }
  int id() const { return id_; }
  const std::string& name() const { return name_; }
  SimWorld& world() { return world_; }
  /// Until then the node is inside run_blocking(): SimWorld holds its events back.
  Duration busy_until() const { return busy_until_; }

  /// Virtual time an offloaded job (an fsync) takes: uniform in [min, max].
  Duration offload_min{100us}, offload_max{400us};

 private:
  SimWorld& world_;
  int id_;
  std::string name_;
  uint64_t incarnation_ = 0;
  std::mt19937_64 rng_;
  Duration offload_busy_until_{0};  // offloaded work runs in order, one at a time
  Duration busy_until_{0};          // the loop is blocked in run_blocking()
};

}  // namespace cohort::sim
