#pragma once
// GMS: group membership (JGroups' GMS, simplified). The first member of the view that this member
// does not suspect acts as coordinator.
//
// Join: at connect the member asks the stack below for the members it knows (event::find_members:
// discovery, or SIM's simulated cluster) and sends JOIN_REQ to them every `join_timeout`. The
// coordinator queues the joiner; a member that is in a view but is not its coordinator answers
// JOIN_WAIT (naming its coordinator), and the next request goes there. A member that finds nobody
// after one `join_timeout`, or that is the lowest address among members that all stayed silent
// (still joining) for a round of JOIN_REQs, or that got no view after `max_join_attempts` rounds,
// becomes a singleton coordinator
// (MERGE joins such islands later).
//
// Views: the coordinator installs one view at a time: members minus leavers and suspected
// members, plus joiners, with view id max seen + 1. It installs the view locally and sends it by
// (reliable, ordered) unicast to every other member, then waits for their acks or
// `view_ack_timeout`. Members install a view only if its id is higher than their current one
// (a duplicate of the current view is acked again; a lower one is rejected with the member's id,
// and the coordinator then re-installs with a higher id), so every member installs views in
// increasing id order and a view id names one membership everywhere. A member that rejected a
// merge view gets the next views marked as merge views until it acks one. An installed view goes
// down (so UNICAST, NAKACK, FD_ALL, MERGE learn it) and then up. Merge views (asked for by MERGE
// via event::install_merge_view) are preceded by an event::merge_view going up.
//
// Failures: SUSPECT events from below (FD_ALL → VERIFY_SUSPECT) make the acting coordinator
// exclude the member; if the coordinator itself is suspected, the next unsuspected member takes
// over. Leave: a member sends LEAVE_REQ to the coordinator; a leaving coordinator installs the
// view without itself on the others.
//
// Refusal: a JOIN_REJECT (sent by a protocol below GMS such as AUTH) ends the join: the member
// sends event::join_failed up with the reason and stays without a view (no silent singleton).
//
// Views coming up from below (a transport or discovery with views="true") are dropped: GMS owns
// the views. Loop affinity: everything runs on the channel's loop.
#include <optional>
#include <set>
#include <vector>

#include "stack/header.hpp"
#include "stack/protocol.hpp"
#include "stack/view.hpp"

namespace cohort {

class GmsHeader : public Header {
 public:
  enum Type : uint8_t {
    join_req = 1,
    join_wait = 2,    ///< coord: the coordinator to ask
    view = 3,         ///< view, merge
    view_ack = 4,     ///< view_id
    view_reject = 5,  ///< view_id: the member's current view id
    leave_req = 6,
    join_reject = 7,  ///< reason: the join is refused (sent by AUTH below GMS)
  };
  explicit GmsHeader(Type t) : type(t) {}
  Type type;
  Address coord;
  View new_view;
  bool merge = false;
  ViewId view_id;
  std::string reason;
  void encode(codec::Writer& w) const override;
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override;
};

class Gms : public Protocol {
 public:
  Gms();
  void init() override;
  void stop() override;
  std::any down(Event& ev) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;
  std::any up(Event& ev) override;

  const View& view() const { return view_; }
  bool is_coordinator() const;
  /// The member that coordinates as far as this member knows (first unsuspected member).
  Address acting_coordinator() const;

 private:
  void handle(const Message& msg, const GmsHeader& h);
  void start_join();
  void join_round();
  void become_singleton();
  void handle_join_req(const Address& joiner);
  void handle_join_reject(const Address& src, const std::string& reason);
  void handle_view(const Address& src, const GmsHeader& h);
  void handle_view_ack(const Address& src, const GmsHeader& h, bool rejected);
  void leave();
  void maybe_install();
  void finish_install();
  void install(const View& v, bool merge);
  void send(const Address& dest, std::shared_ptr<GmsHeader> h);
  void send_view(const Address& dest, const View& v, bool merge);

  Duration join_timeout_ = 2s;
  int max_join_attempts_ = 10;
  Duration view_ack_timeout_ = 2s;
  bool print_local_addr_ = true;

  Address local_;
  std::string cluster_;
  View view_;
  bool joined_ = false;
  bool joining_ = false;
  int join_attempts_ = 0;
  int rounds_asked_ = 0;  // join rounds that sent JOIN_REQs
  Address known_coord_;
  bool saw_cluster_ = false;  // some member answered JOIN_WAIT: a cluster exists
  uint64_t max_view_id_ = 0;
  std::set<Address> suspects_;
  // Coordinator state.
  std::vector<Address> pending_joins_;
  std::set<Address> pending_leaves_;
  std::optional<View> pending_merge_;
  bool force_install_ = false;
  // Members sent a merge view that have not acked one yet (they rejected it: their view id had
  // moved past it meanwhile). Every next view goes to them marked as a merge view until they ack
  // one, so that each member of a merged group sees a merge view.
  std::set<Address> merge_unconfirmed_;
  bool installing_ = false;
  ViewId installing_id_;
  std::set<Address> acks_waiting_;
  TimerHandle join_timer_, ack_timer_;

  uint64_t& views_installed_;
  uint64_t& merge_views_installed_;
  uint64_t& joins_handled_;
  uint64_t& leaves_handled_;
  uint64_t& members_excluded_;
  uint64_t& views_rejected_;
  uint64_t& ack_timeouts_;
  uint64_t& singletons_;
  uint64_t& joins_refused_;
};

}  // namespace cohort
