#include "protocols/delay.hpp"

#include <stdexcept>

namespace cohort {

Delay::Delay() : Protocol("DELAY"), delayed_(counter("delayed", "messages delayed")) {
  declare("in_delay_min", in_min_, "minimum delay of messages going up");
  declare("in_delay_max", in_max_, "maximum delay of messages going up");
  declare("out_delay_min", out_min_, "minimum delay of messages going down");
  declare("out_delay_max", out_max_, "maximum delay of messages going down");
}

void Delay::init() {
  if (in_max_ < in_min_) throw std::invalid_argument("in_delay_max: must be >= in_delay_min");
  if (out_max_ < out_min_) throw std::invalid_argument("out_delay_max: must be >= out_delay_min");
}

void Delay::down(Message& msg) {
  if (out_max_.count() == 0) return Protocol::down(msg);
  ++delayed_;
  runtime().schedule(runtime().random_between(out_min_, out_max_),
                     [this, m = msg]() mutable { Protocol::down(m); });
}

void Delay::up(Message& msg) {
  if (in_max_.count() == 0) return Protocol::up(msg);
  ++delayed_;
  runtime().schedule(runtime().random_between(in_min_, in_max_),
                     [this, m = msg]() mutable { Protocol::up(m); });
}

void Delay::up(MessageBatch& batch) {
  if (in_max_.count() == 0) return Protocol::up(batch);
  for (auto& m : batch.messages)
    up(m);
}

}  // namespace cohort
