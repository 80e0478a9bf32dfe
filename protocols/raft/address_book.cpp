#include "protocols/raft/raft_events.hpp"

namespace cohort::raft {

void AddressBook::learn(const std::string& raft_id, const Address& a) {
  for (auto& [id, addr] : entries_)
    if (id == raft_id) {
      addr = a;  // a restarted member has a new address incarnation
      return;
    }
  entries_.emplace_back(raft_id, a);
}

Address AddressBook::find(const std::string& raft_id) const {
  for (auto& [id, addr] : entries_)
    if (id == raft_id) return addr;
  return {};
}

std::string AddressBook::raft_id_of(const Address& a) const {
  for (auto& [id, addr] : entries_)
    if (addr == a) return id;
  return {};
}

}  // namespace cohort::raft
