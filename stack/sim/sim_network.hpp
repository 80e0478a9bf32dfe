#pragma once
// SimNetwork: the simulated network of a SimWorld. Frames sent by SimTransports are really
// encoded and decoded (so header codecs run), then delivered to the receiving node after a
// random delay, subject to the faults configured: per-link drop and duplicate probabilities,
// delay ranges (jitter reorders messages), and partitions between named nodes.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "stack/buffer.hpp"
#include "stack/runtime.hpp"

namespace cohort::sim {

class SimWorld;
class SimTransport;

struct LinkFaults {
  double drop = 0;       ///< probability a frame is lost
  double duplicate = 0;  ///< probability a frame is delivered twice
  Duration delay_min{50us};
  Duration delay_max{200us};
};

class SimNetwork {
 public:
  explicit SimNetwork(SimWorld& world) : world_(world) {}

  /// Faults on every link without its own setting.
  LinkFaults defaults;
  /// Faults on the link from node `from` to node `to` (logical names).
  void set_link(const std::string& from, const std::string& to, LinkFaults f);
  void clear_links() { links_.clear(); }
  /// Splits the named nodes into groups that cannot reach each other (nodes not named form one
  /// more group). heal() removes every partition.
  void partition(const std::vector<std::vector<std::string>>& groups);
  /// Blocks traffic from `from` to `to` only (asymmetric partitions).
  void block(const std::string& from, const std::string& to) { blocked_.insert({from, to}); }
  void heal() { blocked_.clear(); }
  bool reachable(const std::string& from, const std::string& to) const;

  uint64_t frames_sent = 0, frames_dropped = 0, frames_duplicated = 0;

  // Used by SimTransport.
  void attach(SimTransport* t);
  void detach(SimTransport* t);
  std::vector<SimTransport*> members(const std::string& cluster) const;
  /// Ships an encoded frame from `from` to every transport in `to`.
  void send(SimTransport* from, const std::vector<SimTransport*>& to, const Buffer& frame);

 private:
  const LinkFaults& faults(const std::string& from, const std::string& to) const;
  SimWorld& world_;
  std::vector<SimTransport*> transports_;  // attach order = join order
  std::map<std::pair<std::string, std::string>, LinkFaults> links_;
  std::set<std::pair<std::string, std::string>> blocked_;
};

}  // namespace cohort::sim
