#pragma once
// MERGE: heals partitions (a minimal JGroups MERGE3). Sits above discovery, below FD_ALL.
//
// Every `min_interval`..`max_interval` (random) each member with a view multicasts INFO: its view
// id and its view's coordinator. A coordinator that hears INFO from members outside its view, or
// from members of its view that follow another coordinator (a view that excluded it), collects
// them; at its next round it computes the merge targets — the coordinators of the other
// views (a member whose INFO names itself as coordinator), plus members whose coordinator it did
// not hear from (members excluded from a view that is still alive, or islands) — and it leads the
// merge only if its address is lower than every other coordinator's (so exactly one of the
// coordinators leads). The leader sends MERGE_REQ to the targets; a coordinator answers with its
// view, any other member with a view of itself alone. After all answers or `merge_timeout`, the
// leader sends event::install_merge_view up with the union of the members (its own first) and an
// id above every id it saw; its GMS installs that view on everybody as a merge view.
//
// Messages are best effort (a lost one is retried next round). Loop affinity: the channel's loop.
#include <map>
#include <optional>
#include <set>

#include "stack/header.hpp"
#include "stack/protocol.hpp"
#include "stack/view.hpp"

namespace cohort {

class MergeHeader : public Header {
 public:
  enum Type : uint8_t { info = 1, merge_req = 2, merge_rsp = 3 };
  explicit MergeHeader(Type t) : type(t) {}
  Type type;
  uint64_t merge_id = 0;  ///< merge_req, merge_rsp
  ViewId view_id;         ///< info
  Address coord;          ///< info: the sender's view's coordinator
  View view;              ///< merge_rsp
  void encode(codec::Writer& w) const override;
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override;
};

class Merge : public Protocol {
 public:
  Merge();
  void init() override;
  void start() override;
  void stop() override;
  std::any down(Event& ev) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;

 private:
  struct Foreign {
    Address coord;
    ViewId view_id;
  };
  void handle(const Message& msg, const MergeHeader& h);
  void round();
  void maybe_lead();
  void finish_merge();
  void send(const Address& dest, std::shared_ptr<MergeHeader> h);

  Duration min_interval_ = 2s;
  Duration max_interval_ = 4s;
  Duration merge_timeout_ = 2s;

  Address local_;
  View view_;
  std::map<Address, Foreign> foreign_;  // heard since the last round, not in our view
  // Leader state.
  uint64_t merge_id_ = 0;
  std::set<Address> awaiting_;
  std::vector<View> responses_;
  TimerHandle round_timer_, merge_timer_;
  bool running_ = false;

  uint64_t& infos_sent_;
  uint64_t& merges_led_;
  uint64_t& merge_reqs_answered_;
  uint64_t& merge_timeouts_;
};

}  // namespace cohort
