#include "protocols/raft/core/election.hpp"

#include <algorithm>

#include "protocols/raft/core/assert.hpp"
#include "protocols/raft/core/quorum.hpp"

namespace cohort::raft {

const char* role_name(Role r) {
  switch (r) {
    case Role::follower:
      return "follower";
    case Role::pre_candidate:
      return "pre_candidate";
    case Role::candidate:
      return "candidate";
    case Role::leader:
      return "leader";
  }
  return "?";
}

ElectionCore::ElectionCore(std::string id, HardState restored, ElectionOptions options,
                           uint64_t seed)
    : id_(std::move(id)),
      options_(options),
      rng_(seed),
      term_(restored.term),
      voted_for_(std::move(restored.voted_for)) {
  COHORT_ASSERT(!id_.empty());
  COHORT_ASSERT(options_.election_timeout_min_ticks >= 1);
  COHORT_ASSERT(options_.election_timeout_max_ticks >= options_.election_timeout_min_ticks);
  reset_timeout();
}

void ElectionCore::reset_timeout() {
  elapsed_ticks_ = 0;
  hint_at_ticks_ = 0;
  uint64_t span = options_.election_timeout_max_ticks - options_.election_timeout_min_ticks + 1;
  timeout_ticks_ = options_.election_timeout_min_ticks + rng_() % span;
}

bool ElectionCore::promotable() const {
  LogInfo info = replication_->log_info();
  return info.configuration->is_voter(id_) || info.previous_configuration->is_voter(id_);
}

// §4.2.3 (with check-quorum, as etcd): a server that heard from a current leader within the
// minimum election timeout ignores vote requests, so removed or partitioned servers cannot
// disrupt a working cluster. A leader is always within its own lease.
bool ElectionCore::in_lease() const {
  // A view that dropped the leader (leader_lost) ends the lease once the leader has been silent
  // for the hint's grace, so the survivors can grant each other's (pre-)votes.
  if (hint_at_ticks_ && elapsed_ticks_ >= hint_grace_ticks()) return false;
  return options_.check_quorum && !leader_.empty() &&
         elapsed_ticks_ < options_.election_timeout_min_ticks;
}

void ElectionCore::send(const std::string& to, MessageBody body) {
  messages_.push_back(Message{id_, to, std::move(body)});
}

std::optional<HardState> ElectionCore::take_hard_state() {
  if (!hard_state_dirty_) return std::nullopt;
  hard_state_dirty_ = false;
  return HardState{term_, voted_for_};
}

void ElectionCore::tick() {
  COHORT_ASSERT(replication_ != nullptr);
  ++elapsed_ticks_;
  if (role_ == Role::leader) {
    if (!transfer_target_.empty() &&
        ++transfer_elapsed_ticks_ >= options_.election_timeout_min_ticks) {
      transfer_target_.clear();  // §3.10: abort a transfer that did not finish in a timeout
    }
    maybe_send_timeout_now();
    if (elapsed_ticks_ >= options_.election_timeout_min_ticks) {
      elapsed_ticks_ = 0;
      // §6.2 check-quorum: step down unless a majority of voters answered in this round.
      const Configuration& c = *replication_->log_info().configuration;
      size_t heard = c.is_voter(id_) ? 1 : 0;
      for (const auto& v : c.voters)
        heard += (v != id_ && active_.count(v)) ? 1 : 0;
      active_.clear();
      if (options_.check_quorum && heard < majority(c.voters.size())) {
        become_follower(term_, "");
      }
    }
    return;
  }
  if (elapsed_ticks_ >= timeout_ticks_ || (hint_at_ticks_ && elapsed_ticks_ >= hint_at_ticks_)) {
    hint_at_ticks_ = 0;
    if (promotable()) {
      campaign(options_.pre_vote ? Kind::pre : Kind::real);
    } else {
      reset_timeout();  // learners and removed servers never campaign
    }
  }
}

void ElectionCore::step(const Message& m) {
  COHORT_ASSERT(replication_ != nullptr);
  if (auto* req = std::get_if<VoteRequest>(&m.body)) {
    handle_vote_request(m.from, *req);
  } else if (auto* resp = std::get_if<VoteResponse>(&m.body)) {
    handle_vote_response(m.from, *resp);
  } else if (auto* tn = std::get_if<TimeoutNow>(&m.body)) {
    handle_timeout_now(m.from, *tn);
  } else {
    COHORT_ASSERT(!"not an election message");
  }
}

void ElectionCore::campaign(Kind kind) {
  LogInfo info = replication_->log_info();
  const Configuration& c = *info.configuration;
  COHORT_ASSERT(promotable());
  Term vote_term;
  if (kind == Kind::pre) {
    // §9.6: a pre-vote does not change the term or the vote.
    role_ = Role::pre_candidate;
    vote_term = term_ + 1;
  } else {
    ++term_;
    voted_for_ = id_;
    hard_state_dirty_ = true;
    role_ = Role::candidate;
    vote_term = term_;
  }
  leader_.clear();
  votes_.clear();
  votes_[id_] = true;
  reset_timeout();
  replication_->became_follower(term_, "");
  for (const auto& v : c.voters) {
    if (v == id_) continue;
    send(v, VoteRequest{vote_term, info.last_index, info.last_term, kind == Kind::pre,
                        kind == Kind::transfer});
  }
  if (tally_votes(c.voters, votes_) == VoteResult::won) {  // a single-voter cluster
    if (kind == Kind::pre) {
      campaign(Kind::real);
    } else {
      become_leader();
    }
  }
}

void ElectionCore::become_follower(Term term, const std::string& leader) {
  COHORT_ASSERT(term >= term_);
  if (term > term_) {
    term_ = term;
    voted_for_.clear();
    hard_state_dirty_ = true;
  }
  role_ = Role::follower;
  leader_ = leader;
  votes_.clear();
  active_.clear();
  transfer_target_.clear();
  reset_timeout();
  replication_->became_follower(term_, leader_);
}

void ElectionCore::become_leader() {
  COHORT_ASSERT(role_ == Role::candidate);
  role_ = Role::leader;
  leader_ = id_;
  votes_.clear();
  active_.clear();
  transfer_target_.clear();
  elapsed_ticks_ = 0;
  hint_at_ticks_ = 0;
  replication_->became_leader(term_);
}

void ElectionCore::handle_vote_request(const std::string& from, const VoteRequest& m) {
  if (m.term > term_ && !m.transfer && in_lease()) return;  // §4.2.3
  if (m.term < term_) {
    send(from, VoteResponse{term_, false, m.pre});
    return;
  }
  if (m.term > term_ && !m.pre) become_follower(m.term, "");
  LogInfo info = replication_->log_info();
  // §3.6.1 election restriction: grant only to a candidate whose log is at least as up to date.
  bool up_to_date = m.last_term > info.last_term ||
                    (m.last_term == info.last_term && m.last_index >= info.last_index);
  bool can_vote =
      voted_for_ == from || (voted_for_.empty() && leader_.empty()) || (m.pre && m.term > term_);
  if (!(can_vote && up_to_date)) {
    send(from, VoteResponse{term_, false, m.pre});
    return;
  }
  if (!m.pre) {
    voted_for_ = from;  // §3.8: durable before the response goes out (see the header)
    hard_state_dirty_ = true;
    reset_timeout();  // §3.4: granting a vote resets the election timer
  }
  send(from, VoteResponse{m.term, true, m.pre});
}

void ElectionCore::handle_vote_response(const std::string& from, const VoteResponse& m) {
  if (m.term > term_ && !(m.pre && m.granted)) {
    become_follower(m.term, "");
    return;
  }
  if (m.pre) {
    if (role_ != Role::pre_candidate || (m.granted && m.term != term_ + 1)) return;
  } else {
    if (role_ != Role::candidate || m.term != term_) return;
  }
  const Configuration& c = *replication_->log_info().configuration;
  if (!c.is_voter(from)) return;  // votes are counted by voter id
  votes_[from] = m.granted;
  switch (tally_votes(c.voters, votes_)) {
    case VoteResult::won:
      if (role_ == Role::pre_candidate) {
        campaign(Kind::real);
      } else {
        become_leader();
      }
      break;
    case VoteResult::lost:
      become_follower(term_, "");
      break;
    case VoteResult::pending:
      break;
  }
}

void ElectionCore::handle_timeout_now(const std::string& from, const TimeoutNow& m) {
  if (m.term < term_) return;
  if (m.term > term_) become_follower(m.term, from);
  if (role_ == Role::leader || !promotable()) return;
  campaign(Kind::transfer);  // §3.10: skip pre-vote and the lease
}

bool ElectionCore::transfer_leadership(const std::string& target) {
  if (role_ != Role::leader || target == id_) return false;
  if (!replication_->log_info().configuration->is_voter(target)) return false;
  transfer_target_ = target;
  transfer_elapsed_ticks_ = 0;
  timeout_now_sent_ = false;
  maybe_send_timeout_now();
  return true;
}

void ElectionCore::maybe_send_timeout_now() {
  if (transfer_target_.empty() || timeout_now_sent_) return;
  if (!replication_->caught_up(transfer_target_)) return;
  send(transfer_target_, TimeoutNow{term_});
  timeout_now_sent_ = true;
}

void ElectionCore::leader_lost(const std::string& leader, std::optional<unsigned> rank) {
  if (role_ == Role::leader || leader.empty() || leader != leader_) return;
  // Campaign a few ticks from now instead of a whole timeout. But a view is not proof: a
  // discovery view that missed the leader for a moment, or a false suspicion, must not depose a
  // leader we still hear. So not before hint_grace_ticks() after the leader's last message (a
  // live leader's heartbeat comes sooner and cancels the hint), and members that see the same
  // view at once campaign one stagger apart by their rank in it (a random draw within the
  // stagger tied too often: 6 of 20 seeds split the vote); without a rank, at random.
  uint64_t stagger = std::max<uint64_t>(
      2, (options_.election_timeout_max_ticks - options_.election_timeout_min_ticks) / 2);
  uint64_t after = rank ? uint64_t{*rank} * stagger : rng_() % stagger;
  uint64_t at = std::max(elapsed_ticks_ + 1, hint_grace_ticks()) + after;
  if (at < timeout_ticks_) hint_at_ticks_ = at;
}

uint64_t ElectionCore::hint_grace_ticks() const {
  return std::max<uint64_t>(1, options_.election_timeout_min_ticks / 3);
}

void ElectionCore::heard_from_leader(Term term, const std::string& leader) {
  COHORT_ASSERT(term >= term_);
  COHORT_ASSERT(!(term == term_ && role_ == Role::leader));  // election safety (§3.4)
  if (term > term_ || role_ != Role::follower) {
    become_follower(term, leader);
  } else if (leader_ != leader) {
    leader_ = leader;
    replication_->became_follower(term_, leader_);
  }
  elapsed_ticks_ = 0;
  hint_at_ticks_ = 0;  // the leader is alive: a view that dropped it was wrong or stale
}

void ElectionCore::observed_term(Term term) {
  if (term > term_) become_follower(term, "");
}

void ElectionCore::peer_active(const std::string& id) {
  if (role_ != Role::leader) return;
  active_.insert(id);
  if (id == transfer_target_) maybe_send_timeout_now();
}

void ElectionCore::step_down() {
  if (role_ != Role::leader) return;
  become_follower(term_, "");
}

}  // namespace cohort::raft
