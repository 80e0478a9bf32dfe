#include "stack/sim/sim_world.hpp"

namespace cohort::sim {

SimWorld::SimWorld(uint64_t seed) : seed_(seed), rng_(seed), network_(*this) {}
SimWorld::~SimWorld() = default;

void SimWorld::mix(uint64_t v) {
  // FNV-1a over the 8 bytes of v.
  for (int i = 0; i < 8; ++i) {
    hash_ ^= (v >> (8 * i)) & 0xff;
    hash_ *= 0x100000001b3ull;
  }
}

std::shared_ptr<SimRuntime> SimWorld::add_node(std::string name) {
  int id = static_cast<int>(nodes_.size());
  uint64_t node_seed =
      seed_ * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(id) * 0xBF58476D1CE4E5B9ull + 1;
  auto rt = std::make_shared<SimRuntime>(*this, id, std::move(name), node_seed);
  nodes_.push_back(rt);
  return rt;
}

void SimWorld::schedule(int node, uint64_t incarnation, Duration at,
                        std::shared_ptr<bool> cancelled, std::function<void()> fn) {
  if (at < now_) at = now_;
  queue_.push(Item{at, seq_++, node, incarnation, std::move(cancelled), std::move(fn)});
}

bool SimWorld::node_alive(int node, uint64_t incarnation) const {
  return node < 0 || nodes_[static_cast<size_t>(node)]->alive(incarnation);
}

void SimWorld::purge_dead_front() {
  while (!queue_.empty()) {
    const Item& item = queue_.top();
    bool dead = (item.cancelled && *item.cancelled) || !node_alive(item.node, item.incarnation);
    if (!dead) return;
    queue_.pop();  // cancelled, or its node crashed meanwhile
  }
}

bool SimWorld::step() {
  purge_dead_front();
  if (!queue_.empty()) {
    Item item = std::move(const_cast<Item&>(queue_.top()));
    queue_.pop();
    if (item.node >= 0) {
      // The node's loop is blocked (run_blocking): its event waits, in order, until just after
      // the blocking work's completion.
      Duration busy = nodes_[static_cast<size_t>(item.node)]->busy_until();
      if (item.at < busy) {
        item.at = busy + Duration(1);
        queue_.push(std::move(item));
        return true;
      }
    }
    now_ = item.at;
    ++events_run_;
    mix(static_cast<uint64_t>(now_.count()));
    mix(static_cast<uint64_t>(item.node));
    item.fn();
    return true;
  }
  return false;
}

void SimWorld::run_until(Duration t) {
  for (purge_dead_front(); !queue_.empty() && queue_.top().at <= t; purge_dead_front())
    step();
  if (now_ < t) now_ = t;
}

bool SimWorld::run_until(const std::function<bool()>& pred, Duration limit) {
  Duration end = now_ + limit;
  while (!pred()) {
    purge_dead_front();
    if (queue_.empty() || queue_.top().at > end) {
      if (now_ < end) now_ = end;
      return pred();
    }
    step();
  }
  return true;
}

SimRuntime::SimRuntime(SimWorld& world, int id, std::string name, uint64_t seed)
    : world_(world), id_(id), name_(std::move(name)), rng_(seed) {}

TimerHandle SimRuntime::schedule(Duration delay, std::function<void()> fn) {
  auto cancelled = std::make_shared<bool>(false);
  world_.schedule(id_, incarnation_, world_.now() + delay, cancelled, std::move(fn));
  return TimerHandle(cancelled);
}

void SimRuntime::post(std::function<void()> fn) {
  world_.schedule(id_, incarnation_, world_.now(), nullptr, std::move(fn));
}

void SimRuntime::offload(std::function<void()> work, std::function<void()> done) {
  // Offloaded jobs (fsyncs) run one after another, each taking a random virtual time; a crash
  // before a job completes drops it (and so whatever it would have made durable).
  Duration start = std::max(world_.now(), offload_busy_until_);
  Duration end = start + random_between(offload_min, offload_max);
  offload_busy_until_ = end;
  world_.schedule(id_, incarnation_, end, nullptr,
                  [work = std::move(work), done = std::move(done)] {
                    work();
                    done();
                  });
}

void SimRuntime::run_blocking(std::function<void()> work, std::function<void()> done) {
  work();
  // A crash meanwhile drops `done` (the work's effect, e.g. durable entries, stays: as when the
  // fsync completed just before the crash).
  busy_until_ = world_.now() + random_between(offload_min, offload_max);
  world_.schedule(id_, incarnation_, busy_until_, nullptr, std::move(done));
}

}  // namespace cohort::sim
