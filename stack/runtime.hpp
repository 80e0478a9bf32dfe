#pragma once
// Runtime: the only way protocol code reads time, arms timers, posts work, offloads blocking work
// and draws randomness (DESIGN.md §2). Two implementations: AsioRuntime (production: an
// io_context run by one loop thread per channel) and SimRuntime (virtual time, one seeded
// discrete-event queue shared by a whole simulated cluster). The same protocol code runs on both.
//
// Loop affinity: schedule(), cancel() and rng() are called on the loop only; post() and offload()
// may be called from any thread.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>

namespace cohort {

using Duration = std::chrono::nanoseconds;
using namespace std::chrono_literals;

/// Cancels a scheduled callback; copying shares the same timer. Default-constructed = none.
class TimerHandle {
 public:
  TimerHandle() = default;
  explicit TimerHandle(std::shared_ptr<bool> cancelled) : cancelled_(std::move(cancelled)) {}
  void cancel() {
    if (cancelled_) *cancelled_ = true;
    cancelled_.reset();
  }
  bool armed() const { return cancelled_ && !*cancelled_; }

 private:
  std::shared_ptr<bool> cancelled_;
};

class Runtime {
 public:
  virtual ~Runtime() = default;
  /// Monotonic time since this runtime's epoch.
  virtual Duration now() const = 0;
  /// Runs fn on the loop after `delay` unless cancelled first.
  virtual TimerHandle schedule(Duration delay, std::function<void()> fn) = 0;
  /// Runs fn on the loop soon (thread-safe).
  virtual void post(std::function<void()> fn) = 0;
  /// Runs `work` off the loop (blocking I/O such as fsync), then `done` on the loop. Works run in
  /// submission order on one worker, so a later sync covers an earlier append.
  virtual void offload(std::function<void()> work, std::function<void()> done) = 0;
  /// Runs blocking `work` on the loop itself, then `done`; the loop serves nothing else
  /// meanwhile. For work the loop could only wait for anyway (a follower's fsync before its
  /// acknowledgement): it saves offload()'s two thread wake-ups. `done` may run before this
  /// returns (production) or later (the simulator models the time the work takes).
  virtual void run_blocking(std::function<void()> work, std::function<void()> done) {
    work();
    done();
  }
  /// This node's seeded PRNG.
  virtual std::mt19937_64& rng() = 0;
  /// True when called on the loop thread.
  virtual bool in_loop() const = 0;
  /// Stops the loop for good (pending work is dropped). Not from the loop thread.
  virtual void shutdown() {}

  /// Uniform random duration in [lo, hi].
  Duration random_between(Duration lo, Duration hi) {
    if (hi <= lo) return lo;
    std::uniform_int_distribution<int64_t> d(lo.count(), hi.count());
    return Duration(d(rng()));
  }
};

}  // namespace cohort
