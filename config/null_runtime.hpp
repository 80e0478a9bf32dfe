#pragma once
// NullRuntime: a Runtime on which nothing ever runs, for building and validating a stack without
// starting it (`cohort check`, tests). Time stands still at zero; scheduled, posted and offloaded
// work is dropped; the PRNG is seeded with a fixed value. A protocol that needs its runtime to do
// something during init() is wrong anyway: init() validates, start() begins work.
#include "stack/runtime.hpp"

namespace cohort {

class NullRuntime : public Runtime {
 public:
  Duration now() const override { return Duration::zero(); }
  /// Returns an armed handle whose callback never runs.
  TimerHandle schedule(Duration, std::function<void()>) override {
    return TimerHandle(std::make_shared<bool>(false));
  }
  void post(std::function<void()>) override {}
  void offload(std::function<void()>, std::function<void()>) override {}
  std::mt19937_64& rng() override { return rng_; }
  bool in_loop() const override { return true; }

 private:
  std::mt19937_64 rng_{0};
};

}  // namespace cohort
