#pragma once
// ElectionCore: the pure election half of Raft (thesis §3.3, §3.4, §3.10, §4.2.3, §6.2, §9.6).
// It owns the term, the vote, the role and the known leader; it asks the log side for the last
// log position and the configuration through a ReplicationPort and tells it about role changes.
//
// Pure and single-threaded: time is tick(), randomness is the seeded PRNG given at construction.
// Output is taken with take_hard_state() and take_messages(); ordering contract: the hard state
// returned by take_hard_state() must be durable (LogStore::save_hard_state) before any message
// taken afterwards from either core is sent (§3.8: no double vote after a crash).
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "protocols/raft/core/messages.hpp"
#include "protocols/raft/core/ports.hpp"

namespace cohort::raft {

struct ElectionOptions {
  /// Election timeout, drawn uniformly from [min, max] ticks at each reset (§3.4).
  uint32_t election_timeout_min_ticks = 10;
  uint32_t election_timeout_max_ticks = 20;
  /// §9.6: ask for votes before bumping the term, so a partitioned server does not disrupt.
  bool pre_vote = true;
  /// §6.2: a leader that hears from no majority within an election timeout steps down. Also
  /// enables the §4.2.3 lease: votes are ignored while a current leader is heard from.
  bool check_quorum = true;
};

class ElectionCore final : public ElectionPort {
 public:
  /// `restored` is the durable hard state (term, vote) read from the log store at start.
  ElectionCore(std::string id, HardState restored, ElectionOptions options, uint64_t seed);

  /// Must be called once before anything else; `replication` outlives this core.
  void set_replication(ReplicationPort* replication) { replication_ = replication; }

  void tick();
  /// Election messages only (VoteRequest, VoteResponse, TimeoutNow).
  void step(const Message& m);

  /// Starts an election now (tests; a pre-vote first when enabled).
  void campaign_now() { campaign(options_.pre_vote ? Kind::pre : Kind::real); }
  /// Leader only: hand leadership to voter `target` once it is caught up (§3.10). Proposals
  /// should be refused while transferring(). Returns false if not leader or target not a voter.
  bool transfer_leadership(const std::string& target);
  bool transferring() const { return !transfer_target_.empty(); }
  /// Hint: a membership view dropped `leader` (DESIGN §6). Starts an election within a few ticks
  /// instead of a whole timeout. Ignored if `leader` is not the leader we know. `rank`: this
  /// member's place among the survivors in the (agreed) view: rank r campaigns r staggers after
  /// rank 0, so survivors that see the same view at once do not split the vote; without a rank
  /// the start is drawn at random within the stagger.
  void leader_lost(const std::string& leader, std::optional<unsigned> rank = std::nullopt);
  /// A hint waits this long after the leader's last message: longer than a heartbeat interval
  /// (a third of the minimum election timeout), so a live leader disproves a wrong view.
  uint64_t hint_grace_ticks() const;

  // ElectionPort
  TermState term_state() const override { return {term_, role_, leader_}; }
  void heard_from_leader(Term term, const std::string& leader) override;
  void observed_term(Term term) override;
  void peer_active(const std::string& id) override;
  void step_down() override;

  /// Term/vote changed since the last call: persist before sending anything (see above).
  std::optional<HardState> take_hard_state();
  std::vector<Message> take_messages() { return std::exchange(messages_, {}); }

  const std::string& id() const { return id_; }
  HardState hard_state() const { return {term_, voted_for_}; }

 private:
  enum class Kind { pre, real, transfer };

  void campaign(Kind kind);
  void become_follower(Term term, const std::string& leader);
  void become_leader();
  void handle_vote_request(const std::string& from, const VoteRequest& m);
  void handle_vote_response(const std::string& from, const VoteResponse& m);
  void handle_timeout_now(const std::string& from, const TimeoutNow& m);
  void maybe_send_timeout_now();
  bool promotable() const;
  bool in_lease() const;
  void reset_timeout();
  void send(const std::string& to, MessageBody body);

  const std::string id_;
  const ElectionOptions options_;
  std::mt19937_64 rng_;
  ReplicationPort* replication_ = nullptr;

  Term term_ = 0;
  std::string voted_for_;
  Role role_ = Role::follower;
  std::string leader_;
  bool hard_state_dirty_ = false;

  uint64_t elapsed_ticks_ = 0;  ///< since the last reset (heard from leader, voted, campaigned)
  uint64_t timeout_ticks_ = 0;  ///< randomized election timeout
  uint64_t hint_at_ticks_ = 0;  ///< leader_lost: campaign at this elapsed_ticks_ (0: no hint)
  std::map<std::string, bool> votes_;
  std::set<std::string> active_;  ///< leader: voters heard from in this check-quorum round

  std::string transfer_target_;
  uint64_t transfer_elapsed_ticks_ = 0;
  bool timeout_now_sent_ = false;

  std::vector<Message> messages_;
};

}  // namespace cohort::raft
