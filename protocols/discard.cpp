#include "protocols/discard.hpp"

#include <random>
#include <sstream>
#include <stdexcept>

namespace cohort {

Discard::Discard()
    : Protocol("DISCARD"),
      dropped_up_(counter("dropped_up", "messages dropped on the way up")),
      dropped_down_(counter("dropped_down", "messages dropped on the way down")) {
  declare("up", up_, "probability (0..1) of dropping a message going up");
  declare("down", down_, "probability (0..1) of dropping a message going down");
  declare("discard_all", discard_all_, "drop every message, up and down");
  declare("members", members_attr_, "comma-separated logical names whose traffic is dropped");
}

void Discard::init() {
  if (up_ < 0 || up_ > 1) throw std::invalid_argument("up: must be between 0 and 1");
  if (down_ < 0 || down_ > 1) throw std::invalid_argument("down: must be between 0 and 1");
  std::stringstream ss(members_attr_);
  for (std::string m; std::getline(ss, m, ',');)
    if (!m.empty()) members_.insert(m);
}

// `peer` is the destination going down (null for a group message, which no member filter
// matches) and the source going up. discard_all and the probability apply to every message.
bool Discard::drop(const Message&, double probability, const Address& peer) {
  if (discard_all_) return true;
  if (!members_.empty() && !peer.is_null() && members_.count(peer.name())) return true;
  if (probability <= 0) return false;
  return std::uniform_real_distribution<double>(0, 1)(runtime().rng()) < probability;
}

void Discard::down(Message& msg) {
  if (drop(msg, down_, msg.dest())) return void(++dropped_down_);
  Protocol::down(msg);
}

void Discard::up(Message& msg) {
  if (drop(msg, up_, msg.src())) return void(++dropped_up_);
  Protocol::up(msg);
}

void Discard::up(MessageBatch& batch) {
  std::erase_if(batch.messages, [&](const Message& m) {
    bool d = drop(m, up_, m.src());
    if (d) ++dropped_up_;
    return d;
  });
  if (!batch.empty()) Protocol::up(batch);
}

}  // namespace cohort
