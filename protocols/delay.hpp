#pragma once
// DELAY (testing): delays messages going up and/or down by a random time in [min, max] drawn from
// the runtime's PRNG, which also reorders them. Zero (the default) passes messages straight on.
#include "stack/protocol.hpp"

namespace cohort {

class Delay : public Protocol {
 public:
  Delay();
  void init() override;
  void down(Message& msg) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;

 private:
  Duration in_min_{0}, in_max_{0}, out_min_{0}, out_max_{0};
  uint64_t& delayed_;
};

}  // namespace cohort
