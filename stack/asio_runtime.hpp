#pragma once
// AsioRuntime: the production Runtime. Each channel gets its own io_context run by one loop
// thread (rather than strands on a shared pool): a protocol stack is a single-threaded state
// machine, a dedicated thread keeps its latency independent of other channels, and a process
// rarely runs more than a few channels. Blocking work (fsync) runs on one lazily started worker
// thread in submission order, and its completion is posted back to the loop.
//
// The Boost types stay out of this header; transports that need the io_context get it through
// io_context() (include <boost/asio/io_context.hpp> where you use it).
#include <memory>
#include <string>

#include "stack/runtime.hpp"

namespace boost::asio {
class io_context;
}

namespace cohort {

class AsioRuntime : public Runtime {
 public:
  /// seed 0 = seed from std::random_device. The loop thread starts at once; `name` is given to
  /// the thread for debuggers.
  explicit AsioRuntime(uint64_t seed = 0, std::string name = "cohort");
  ~AsioRuntime() override;

  Duration now() const override;
  TimerHandle schedule(Duration delay, std::function<void()> fn) override;
  void post(std::function<void()> fn) override;
  void offload(std::function<void()> work, std::function<void()> done) override;
  std::mt19937_64& rng() override;
  bool in_loop() const override;

  /// Stops the loop and the worker, joining both threads. Pending handlers are dropped.
  /// Idempotent; must not be called from the loop thread.
  void shutdown() override;
  boost::asio::io_context& io_context();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cohort
