#include "protocols/raft/election_protocol.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "protocols/raft/core/election.hpp"
#include "protocols/raft/raft_header.hpp"
#include "stack/protocol_ids.hpp"
#include "stack/view.hpp"

namespace cohort::raft {

ElectionProtocol::ElectionProtocol()
    : Protocol("ELECTION"),
      elections_(counter("leader_changes", "leader or term changes seen")),
      malformed_(counter("malformed", "election messages that failed to decode")) {
  declare("tick_interval", tick_interval_, "granularity of the election timer");
  declare("election_min_interval", election_min_, "lower bound of the randomized election timeout");
  declare("election_max_interval", election_max_, "upper bound of the randomized election timeout");
  declare("pre_vote", pre_vote_, "ask for votes before bumping the term (thesis §9.6)");
  declare("check_quorum", check_quorum_,
          "a leader that hears from no majority within an election timeout steps down (§6.2)");
  declare("view_hint", view_hint_, "start an election soon when a view drops the leader");
  register_header<RaftHeader>(protocol_id::election, "ELECTION");
}

ElectionProtocol::~ElectionProtocol() = default;

void ElectionProtocol::init() {
  if (tick_interval_ <= Duration(0)) throw std::invalid_argument("tick_interval: must be > 0");
  if (election_min_ < 2 * tick_interval_)
    throw std::invalid_argument("election_min_interval: must be at least 2 × tick_interval");
  if (election_max_ < election_min_)
    throw std::invalid_argument("election_max_interval: must be >= election_min_interval");
}

void ElectionProtocol::stop() {
  timer_.cancel();
  core_.reset();
}

ElectionAttachment ElectionProtocol::attach(RaftAttach* a) {
  attach_ = *a;
  ElectionOptions opts;
  opts.election_timeout_min_ticks = static_cast<uint32_t>(election_min_ / tick_interval_);
  opts.election_timeout_max_ticks = static_cast<uint32_t>(election_max_ / tick_interval_);
  opts.pre_vote = pre_vote_;
  opts.check_quorum = check_quorum_;
  core_ = std::make_unique<ElectionCore>(a->raft_id, a->restored, opts, runtime().rng()());
  core_->set_replication(a->replication);
  reported_ = core_->term_state();
  timer_.cancel();
  timer_ = runtime().schedule(tick_interval_, [this] { tick(); });
  ElectionAttachment out;
  out.election = core_.get();
  out.flush_election = [this] { flush(); };
  out.transferring = [this] { return core_ && core_->transferring(); };
  return out;
}

void ElectionProtocol::tick() {
  if (!core_) return;
  timer_ = runtime().schedule(tick_interval_, [this] { tick(); });
  core_->tick();
  flush();
  attach_.drive_replication();
}

void ElectionProtocol::flush() {
  if (!core_) return;
  if (auto hs = core_->take_hard_state()) attach_.persist(*hs);  // §3.8: durable before sending
  for (auto& m : core_->take_messages())
    send(m);
  TermState now = core_->term_state();
  if (now != reported_) {
    reported_ = now;
    ++elections_;
    Event ev(event::leader_changed, LeaderChanged{now.leader, now.term, now.role});
    up_protocol()->up(ev);
  }
}

void ElectionProtocol::send(const raft::Message& m) {
  cohort::Message msg(attach_.addresses->find(m.to), encode_message(m));
  msg.put_header(protocol_id::election, RaftHeader::instance());
  down_protocol()->down(msg);
}

void ElectionProtocol::handle(const cohort::Message& msg) {
  if (!core_) return;
  raft::Message m;
  std::string error;
  if (!decode_message(msg.payload(), m, &error)) return void(++malformed_);
  if (m.to != attach_.raft_id) return;  // a group-sent message for another member
  attach_.addresses->learn(m.from, msg.src());
  core_->step(m);
  flush();
  attach_.drive_replication();
}

void ElectionProtocol::up(cohort::Message& msg) {
  if (msg.has_header(protocol_id::election)) return handle(msg);
  Protocol::up(msg);
}

void ElectionProtocol::up(cohort::MessageBatch& batch) {
  bool mine = false;
  for (auto& m : batch.messages)
    mine |= m.has_header(protocol_id::election);
  if (mine) {
    std::erase_if(batch.messages, [this](cohort::Message& m) {
      if (!m.has_header(protocol_id::election)) return false;
      handle(m);
      return true;
    });
  }
  if (!batch.empty()) Protocol::up(batch);
}

std::any ElectionProtocol::up(Event& ev) {
  if (ev.type == event::view_change && core_ && view_hint_) {
    const View& v = ev.get<View>();
    std::string leader = core_->term_state().leader;
    if (!leader.empty() && leader != attach_.raft_id) {
      Address a = attach_.addresses->find(leader);
      if (!a.is_null() && !v.contains(a)) {
        // This member's rank among the Raft members of the view (every member installs the
        // same view, so the survivors stagger their campaigns instead of splitting the vote).
        unsigned rank = 0;
        for (const Address& m : v.members()) {
          std::string id = attach_.addresses->raft_id_of(m);
          if (id == attach_.raft_id) break;
          if (!id.empty()) ++rank;
        }
        core_->leader_lost(leader, rank);
        flush();
      }
    }
  }
  return Protocol::up(ev);
}

std::any ElectionProtocol::down(Event& ev) {
  switch (ev.type) {
    case raft_event::attach:
      return attach(std::any_cast<RaftAttach*>(ev.arg));
    case raft_event::transfer_leadership: {
      if (!core_) return false;
      bool ok = core_->transfer_leadership(ev.get<std::string>());
      flush();
      attach_.drive_replication();
      return ok;
    }
    case raft_event::leader_hint:
      if (core_) {
        core_->leader_lost(ev.get<std::string>());
        flush();
      }
      return {};
    default:
      return Protocol::down(ev);
  }
}

}  // namespace cohort::raft
