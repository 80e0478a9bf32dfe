#include "stack/sim/sim_network.hpp"

#include <algorithm>
#include <random>

#include "stack/sim/sim_transport.hpp"
#include "stack/sim/sim_world.hpp"

namespace cohort::sim {

void SimNetwork::set_link(const std::string& from, const std::string& to, LinkFaults f) {
  links_[{from, to}] = f;
}

void SimNetwork::partition(const std::vector<std::vector<std::string>>& groups) {
  std::map<std::string, size_t> group_of;
  for (size_t g = 0; g < groups.size(); ++g)
    for (auto& n : groups[g])
      group_of[n] = g;
  std::vector<std::string> names;
  for (auto& rt : world_.nodes())
    names.push_back(rt->name());
  for (auto& a : names)
    for (auto& b : names) {
      auto ga = group_of.count(a) ? group_of[a] : groups.size();
      auto gb = group_of.count(b) ? group_of[b] : groups.size();
      if (ga != gb) blocked_.insert({a, b});
    }
}

bool SimNetwork::reachable(const std::string& from, const std::string& to) const {
  return !blocked_.count({from, to});
}

const LinkFaults& SimNetwork::faults(const std::string& from, const std::string& to) const {
  auto it = links_.find({from, to});
  return it == links_.end() ? defaults : it->second;
}

void SimNetwork::attach(SimTransport* t) {
  transports_.push_back(t);
}
void SimNetwork::detach(SimTransport* t) {
  std::erase(transports_, t);
}

std::vector<SimTransport*> SimNetwork::members(const std::string& cluster) const {
  std::vector<SimTransport*> out;
  for (auto* t : transports_)
    if (t->cluster() == cluster) out.push_back(t);
  return out;
}

void SimNetwork::send(SimTransport* from, const std::vector<SimTransport*>& to,
                      const Buffer& frame) {
  auto& rng = world_.rng();
  std::uniform_real_distribution<double> coin(0, 1);
  for (SimTransport* t : to) {
    ++frames_sent;
    const std::string& a = from->node_name();
    const std::string& b = t->node_name();
    const LinkFaults& f = faults(a, b);
    if (a != b) {  // a node always reaches itself
      if (!reachable(a, b) || (f.drop > 0 && coin(rng) < f.drop)) {
        ++frames_dropped;
        continue;
      }
    }
    int copies = (a != b && f.duplicate > 0 && coin(rng) < f.duplicate) ? 2 : 1;
    if (copies == 2) ++frames_duplicated;
    SimRuntime& rt = t->sim_runtime();
    // Deliver by address at arrival time: the receiver may have crashed or restarted by then.
    Address dest = t->local_address();
    for (int c = 0; c < copies; ++c) {
      Duration d = a == b ? Duration(0) : rt.random_between(f.delay_min, f.delay_max);
      world_.mix(frame.size());
      rt.schedule(d, [this, dest, frame] {
        for (SimTransport* r : transports_)
          if (r->local_address() == dest) return r->receive(frame);
      });
    }
  }
}

}  // namespace cohort::sim
