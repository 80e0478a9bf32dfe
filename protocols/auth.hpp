#pragma once
// AUTH: only members that know the group's shared secret may join or be merged in (issue 7; the
// role of JGroups' AUTH). Sits directly below GMS. The secret never crosses the wire: a member
// proves it knows the secret by an HMAC (libsodium crypto_auth, HMAC-SHA-512-256) over a fresh
// random nonce chosen by the verifier, the purpose, both addresses and the cluster name, so a
// token is good once, for one member talking to one verifier:
//
//   mac = HMAC(key, "cohort/auth/1" | u8 purpose | 32-byte nonce | prover uuid | verifier uuid
//              | cluster)      with key = BLAKE2b-256(secret)
//
// Join (challenge/response): the joiner's JOIN_REQ leaves with an AUTH hello; the receiver
// answers with a CHALLENGE (a nonce issued for that joiner, valid `challenge_timeout`, once), and
// the joiner's AUTH re-sends its JOIN_REQ with a TOKEN over it; only then does it reach GMS. A
// member that has a view refuses a JOIN_REQ with a wrong token, or without any AUTH header (the
// joiner has no AUTH), by a GMS JOIN_REJECT naming AUTH: the joiner's GMS then fails the join
// (event::join_failed) instead of becoming a singleton. Replayed or stale tokens (nonce not
// outstanding) are dropped. Every refusal is counted.
//
// Merge: the merge leader's MERGE asks GMS for a merge view (event::install_merge_view), which
// passes AUTH. AUTH holds it and sends a CHECK (nonce) to every other member of it; each answers
// with an ANSWER: a token over that nonce plus a nonce of its own. New members (not in the
// leader's view) that do not answer with a valid token within `check_timeout` are left out of the
// merge view (a subgroup without the secret stays apart; MERGE tries again later). The merge VIEW
// that GMS then sends to a new member carries a token over that member's nonce, and a member that
// has a view accepts a VIEW from a sender outside it only with such a token: a leader without the
// secret (or without AUTH) cannot pull members into its view either.
//
// Loop affinity: everything runs on the channel's loop. The secret is read in init().
#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "stack/header.hpp"
#include "stack/protocol.hpp"
#include "stack/view.hpp"

namespace cohort {

class AuthHeader : public Header {
 public:
  static constexpr size_t nonce_bytes = 32;
  static constexpr size_t mac_bytes = 32;
  using Nonce = std::array<uint8_t, nonce_bytes>;
  using Mac = std::array<uint8_t, mac_bytes>;
  enum Type : uint8_t {
    hello = 1,      ///< on a JOIN_REQ: "I have AUTH, challenge me"
    challenge = 2,  ///< purpose, nonce
    token = 3,      ///< on a JOIN_REQ or merge VIEW: purpose, nonce, mac
    check = 4,      ///< merge leader → new member: nonce
    answer = 5,     ///< new member → leader: nonce (echoed), mac, own_nonce
  };
  enum Purpose : uint8_t { join = 1, merge_check = 2, merge_view = 3 };

  explicit AuthHeader(Type t) : type(t) {}
  Type type;
  Purpose purpose = join;
  Nonce nonce{};
  Mac mac{};
  Nonce own_nonce{};
  void encode(codec::Writer& w) const override;
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override;
};

class Auth : public Protocol {
 public:
  Auth();
  ~Auth() override;

  using Protocol::down;
  using Protocol::up;
  void init() override;
  void stop() override;
  void down(Message& msg) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;
  std::any down(Event& ev) override;
  std::any up(Event& ev) override;

  /// Installs the secret directly (tests, tools); init() reads secret_file/secret_env instead.
  void set_secret(std::string_view secret);
  /// The token a prover with this member's secret sends (public for tests and the fuzz target).
  AuthHeader::Mac mac(AuthHeader::Purpose purpose, const AuthHeader::Nonce& nonce,
                      const Address& prover, const Address& verifier) const;

 private:
  struct Issued {
    AuthHeader::Nonce nonce;
    Duration at;
  };
  // True if the message was AUTH's own business (consumed); false: pass it up.
  bool consume(Message& msg);
  bool filter_join_req(const Message& msg, const AuthHeader* h);
  bool filter_view(const Message& msg, const AuthHeader* h);
  void handle_challenge(const Message& msg, const AuthHeader& h);
  void handle_check(const Message& msg, const AuthHeader& h);
  void handle_answer(const Message& msg, const AuthHeader& h);
  void start_merge_check(const View& merge_view);
  void finish_merge_check();
  void reject_join(const Address& joiner, const std::string& why);
  AuthHeader::Nonce issue(const Address& peer, AuthHeader::Purpose purpose);
  // Takes (single use) the nonce issued to `peer` and checks `mac` against it.
  enum class Verdict { valid, invalid, stale };
  Verdict verify(const Address& peer, AuthHeader::Purpose purpose, const AuthHeader& h);
  void send(const Address& dest, std::shared_ptr<AuthHeader> h);

  std::string secret_file_, secret_env_;
  Duration challenge_timeout_ = std::chrono::seconds(10);
  Duration check_timeout_ = std::chrono::seconds(2);
  uint64_t max_outstanding_ = 4096;
  std::array<uint8_t, 32> key_{};
  bool have_key_ = false;

  Address local_;
  std::string cluster_;
  View view_;
  std::map<std::pair<Address, uint8_t>, Issued> issued_;  // nonces we issued, by (peer, purpose)
  std::map<Address, Message> pending_joins_;  // our JOIN_REQ per destination, awaiting a challenge
  std::map<Address, AuthHeader::Nonce> merge_view_nonces_;  // new members' nonces (merge leader)
  // Merge check (leader).
  std::optional<View> checking_;
  std::set<Address> awaiting_, passed_;
  TimerHandle check_timer_;

  uint64_t& challenges_sent_;
  uint64_t& joins_authenticated_;
  uint64_t& joins_rejected_;
  uint64_t& stale_tokens_;
  uint64_t& merge_checks_passed_;
  uint64_t& merge_members_refused_;
  uint64_t& views_refused_;
  uint64_t& malformed_;
};

/// Registers AUTH's header decoder (done by the constructor too; idempotent).
void register_auth_header();

}  // namespace cohort
