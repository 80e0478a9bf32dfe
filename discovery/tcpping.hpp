#pragma once
// TCPPING: discovery from a static list of hosts (JGroups' TCPPING). At connect and every
// `interval` a request goes to each `initial_hosts` entry and, with `port_range` N, to the N ports
// above it too: "127.0.0.1[7800],10.0.0.2[7800]" with port_range=2 asks 7800..7802 on both hosts.
// Entries are "host[port]" or "host:port" with numeric IP hosts (or localhost). One reachable
// member is enough: answers gossip the members it knows (see discovery/discovery.hpp).
#include <string>
#include <vector>

#include "discovery/discovery.hpp"

namespace cohort {

class Tcpping : public Discovery {
 public:
  Tcpping();
  void init() override;
  /// The expanded candidate list ("host:port"), after init().
  const std::vector<std::string>& candidates() const { return candidates_; }

 protected:
  void find_candidates() override;

 private:
  std::string initial_hosts_;
  int port_range_ = 0;
  std::vector<std::string> candidates_;
};

/// Parses an initial_hosts list into "host:port" strings expanded by port_range. Throws
/// std::invalid_argument("initial_hosts: ...") on a malformed entry.
std::vector<std::string> parse_initial_hosts(std::string_view list, int port_range);

}  // namespace cohort
