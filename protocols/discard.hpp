#pragma once
// DISCARD (testing): drops messages going up and/or down, by probability or by member, and can
// cut a member off entirely (`discard_all`). Attributes may be changed at run time (on the loop),
// which is how tests make partitions without touching the network.
#include <set>
#include <string>

#include "stack/protocol.hpp"

namespace cohort {

class Discard : public Protocol {
 public:
  Discard();
  void init() override;
  void down(Message& msg) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;

  /// Drops everything to and from member `name` (logical name) until cleared.
  void drop_member(const std::string& name) { members_.insert(name); }
  void clear_members() { members_.clear(); }
  void set_discard_all(bool on) { discard_all_ = on; }

 private:
  bool drop(const Message& msg, double probability, const Address& peer);
  double up_ = 0, down_ = 0;
  bool discard_all_ = false;
  std::string members_attr_;
  std::set<std::string> members_;
  uint64_t& dropped_up_;
  uint64_t& dropped_down_;
};

}  // namespace cohort
