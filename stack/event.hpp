#pragma once
// Event: everything but messages that travels the stack. Types are ints so later protocols can
// add their own (from event::user upwards) without touching this file. The argument is an
// std::any whose type each event documents.
#include <any>
#include <utility>

namespace cohort {

namespace event {
enum Type : int {
  connect = 1,               ///< down, arg: std::string cluster
  disconnect = 2,            ///< down, no arg
  view_change = 3,           ///< up/down, arg: View
  suspect = 4,               ///< up, arg: Address
  unsuspect = 5,             ///< up, arg: Address
  set_local_address = 6,     ///< down, arg: Address
  find_members = 7,          ///< down, returns std::vector<Address> known now
  get_physical_address = 8,  ///< down, arg: Address, returns std::string ("" if unknown)
  leader_changed = 9,        ///< up, arg: LeaderChanged (protocols/raft)
  local_address = 10,        ///< down, returns Address
  members_found = 11,        ///< up (discovery), arg: std::vector<Address>
  raft = 100,                ///< 100..199 reserved for the Raft protocols
  user = 1000,
};
}  // namespace event

struct Event {
  int type = 0;
  std::any arg;
  Event() = default;
  explicit Event(int t) : type(t) {}
  template <typename T>
  Event(int t, T&& a) : type(t), arg(std::forward<T>(a)) {}
  template <typename T>
  const T& get() const {
    return std::any_cast<const T&>(arg);
  }
};

}  // namespace cohort
