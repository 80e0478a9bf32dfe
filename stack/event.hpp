#pragma once
// Event: everything but messages that travels the stack. Types are ints so later protocols can
// add their own (from event::user upwards) without touching this file. The argument is an
// std::any whose type each event documents.
#include <any>
#include <utility>

namespace cohort {

namespace event {
enum Type : int {
  connect = 1,            ///< down, arg: std::string cluster
  disconnect = 2,         ///< down, no arg
  view_change = 3,        ///< up/down, arg: View
  suspect = 4,            ///< up, arg: Address
  unsuspect = 5,          ///< up, arg: Address
  set_local_address = 6,  ///< down, arg: Address
  find_members = 7,       ///< down, returns std::vector<Address> known now
  get_physical_address =
      8,               ///< down, arg: Address, returns std::string "host:port" ("" if unknown);
                       ///< the local address gives the transport's own (listening) address
  leader_changed = 9,  ///< up, arg: LeaderChanged (protocols/raft)
  local_address = 10,  ///< down, returns Address
  members_found = 11,  ///< up (discovery), arg: std::vector<Address>
  /// down (discovery → transport), arg: std::pair<Address, std::string> (logical address,
  /// physical "host:port"): from now on the transport reaches that member there.
  add_physical_address = 12,
  /// down, arg: Address: the member left or timed out; the transport forgets its physical address.
  remove_physical_address = 13,
  /// down, arg: std::pair<std::string, Message> (physical "host:port", message): sends a message
  /// to a physical address whose logical address may be unknown (discovery requests). The
  /// message's dest is ignored (sent as a group message); dropped and counted if unreachable.
  send_to_physical = 14,
  // 20..29: membership (UNICAST, NAKACK, GMS, FD_ALL, VERIFY_SUSPECT, MERGE).
  /// up (GMS), arg: View: the view_change that follows right after is a merge view.
  merge_view = 20,
  /// up (MERGE → GMS), arg: View: the merge leader's GMS installs this view (a merge view) on
  /// every member it lists. Ignored unless this member coordinates its current view.
  install_merge_view = 21,
  /// up (GMS), arg: std::string reason: a member refused this member's join (e.g. AUTH: wrong
  /// secret); GMS stopped joining and will not become a singleton. The channel has no view.
  join_failed = 22,
  raft = 100,  ///< 100..199 reserved for the Raft protocols
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
