// AUTH on the simulated network, over several seeds: members with the group's secret join;
// a joiner with a wrong secret, or without AUTH, is refused with an error naming AUTH (its GMS
// sends event::join_failed and does not become a singleton) and the group's view is unchanged;
// a replayed join token is dropped; a subgroup with another secret is not merged in.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>
#include <string>

#include "membership_cluster.hpp"
#include "protocols/auth.hpp"
#include "stack/protocol_ids.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

constexpr const char* good_secret = "correct horse battery staple";
constexpr const char* bad_secret = "incorrect donkey battery clip";

// Records every JOIN_REQ that leaves with an AUTH token (sits below AUTH).
class TokenTap : public Protocol {
 public:
  TokenTap() : Protocol("TOKEN_TAP") {}
  void down(Message& msg) override {
    auto* a = msg.header<AuthHeader>(protocol_id::auth);
    if (a && a->type == AuthHeader::token && msg.header<GmsHeader>(protocol_id::gms)) {
      Message copy = msg;
      copy.src(local_);
      tokens.push_back(copy);
    }
    Protocol::down(msg);
  }
  std::any down(Event& ev) override {
    if (ev.type == event::set_local_address) local_ = ev.get<Address>();
    return Protocol::down(ev);
  }
  std::vector<Message> tokens;

 private:
  Address local_;
};

// A cluster whose nodes get AUTH with the secret in `secrets` (none: no AUTH) and a TokenTap.
struct AuthCluster {
  explicit AuthCluster(uint64_t seed) : c(seed, full) {
    c.below_gms = [this](MNode& n, ProtocolStack& stack) {
      stack.add(std::make_unique<TokenTap>());
      auto it = secrets.find(n.name);
      if (it == secrets.end()) return;
      auto auth = std::make_unique<Auth>();
      auth->set_secret(it->second);
      REQUIRE(auth->set_attribute("check_timeout", "500ms").empty());
      stack.add(std::move(auth));
    };
  }
  MNode& add(const std::string& name, const char* secret) {
    if (secret) secrets[name] = secret;
    return c.add(name);  // started by the caller
  }
  void start(MNode& n) {
    c.start(n);
    MNode* np = &n;
    n.ch->on_event([this, np](const Event& ev) {
      if (ev.type == event::join_failed) failures[np->name] = ev.get<std::string>();
    });
  }
  MCluster c;
  std::map<std::string, std::string> secrets;
  std::map<std::string, std::string> failures;
};

uint64_t stat(const MNode& n, const char* proto, const char* name) {
  return n.ch->stack().find(proto)->stat(name);
}

// A and B (the good secret) form a view; returns once they agree.
void form_pair(AuthCluster& ac, MNode& a, MNode& b) {
  ac.start(a);
  ac.c.world.run_for(1s);  // A becomes the coordinator
  ac.start(b);
  REQUIRE(ac.c.world.run_until([&] { return MCluster::agree({&a, &b}); }, 10s));
}

}  // namespace

TEST_CASE("AUTH: members with the right secret join and agree") {
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(seed_count(10)); ++seed) {
    AuthCluster ac(700 + seed);
    auto& a = ac.add("A", good_secret);
    auto& b = ac.add("B", good_secret);
    auto& cc = ac.add("C", good_secret);
    form_pair(ac, a, b);
    ac.start(cc);
    CHECK_MESSAGE(ac.c.world.run_until(
                      [&] {
                        return MCluster::agree({&a, &b, &cc});
                      },
                      10s),
                  "seed ", seed);
    CHECK(stat(a, "AUTH", "joins_authenticated") >= 2);
    CHECK(stat(a, "AUTH", "joins_rejected") == 0);
    CHECK(ac.failures.empty());
    ac.c.check_view_invariants();
  }
}

TEST_CASE("AUTH: a joiner with a wrong secret is refused with an error and the view is unchanged") {
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(seed_count(10)); ++seed) {
    AuthCluster ac(720 + seed);
    auto& a = ac.add("A", good_secret);
    auto& b = ac.add("B", good_secret);
    auto& x = ac.add("X", bad_secret);
    form_pair(ac, a, b);
    View before = *a.view();
    ac.start(x);
    CHECK_MESSAGE(ac.c.world.run_until([&] { return ac.failures.count("X") > 0; }, 10s), "seed ",
                  seed);
    ac.c.world.run_for(10s);  // no singleton, no merge later either
    REQUIRE(ac.failures.count("X"));
    CHECK(ac.failures["X"].find("AUTH") != std::string::npos);
    CHECK(ac.failures["X"].find("invalid token") != std::string::npos);
    CHECK(a.view()->id() == before.id());
    CHECK(b.view()->id() == before.id());
    CHECK(x.views.empty());  // not a silent singleton
    CHECK(stat(x, "GMS", "singletons") == 0);
    CHECK(stat(x, "GMS", "joins_refused") == 1);
    CHECK(stat(a, "AUTH", "joins_rejected") + stat(b, "AUTH", "joins_rejected") >= 1);
  }
}

TEST_CASE("AUTH: a joiner without AUTH is refused with an error naming AUTH") {
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(seed_count(5)); ++seed) {
    AuthCluster ac(740 + seed);
    auto& a = ac.add("A", good_secret);
    auto& b = ac.add("B", good_secret);
    auto& x = ac.add("X", nullptr);
    form_pair(ac, a, b);
    View before = *a.view();
    ac.start(x);
    CHECK_MESSAGE(ac.c.world.run_until([&] { return ac.failures.count("X") > 0; }, 10s), "seed ",
                  seed);
    ac.c.world.run_for(10s);
    REQUIRE(ac.failures.count("X"));
    CHECK(ac.failures["X"].find("AUTH") != std::string::npos);
    CHECK(ac.failures["X"].find("no AUTH protocol") != std::string::npos);
    CHECK(a.view()->id() == before.id());
    CHECK(x.views.empty());
    CHECK(stat(a, "AUTH", "joins_rejected") >= 1);
  }
}

TEST_CASE("AUTH: a replayed join token is dropped and is useless for another member") {
  AuthCluster ac(760);
  auto& a = ac.add("A", good_secret);
  auto& b = ac.add("B", good_secret);
  auto& cc = ac.add("C", good_secret);
  form_pair(ac, a, b);
  auto* tap = b.find<TokenTap>();
  REQUIRE(!tap->tokens.empty());
  Message captured = tap->tokens.back();  // B's JOIN_REQ with a valid token, already used
  REQUIRE(captured.dest() == a.addr);
  auto* auth = a.find<Auth>();
  uint64_t authenticated = auth->stat("joins_authenticated");
  uint64_t stale = auth->stat("stale_tokens");
  View before = *a.view();

  // 1. The same token again, from B: its nonce was used up.
  Message replay = captured;
  auth->up(replay);
  CHECK(auth->stat("stale_tokens") == stale + 1);

  // 2. From another member C that has a challenge outstanding: the nonce was issued to B, not C
  // (and the MAC names B): dropped, and C's own exchange still completes.
  ac.start(cc);
  ac.c.world.run_for(1us);
  Message stolen = captured;
  stolen.src(cc.addr);
  auth->up(stolen);
  CHECK(auth->stat("stale_tokens") == stale + 2);
  CHECK(auth->stat("joins_authenticated") == authenticated);
  ac.c.world.run_for(100ms);
  CHECK(a.view()->id().id >= before.id().id);
  CHECK(ac.c.world.run_until([&] { return MCluster::agree({&a, &b, &cc}); }, 10s));
  CHECK(auth->stat("joins_rejected") == 0);
}

TEST_CASE("AUTH: a subgroup with another secret is not merged but one with the same secret is") {
  for (uint64_t seed = 1; seed <= static_cast<uint64_t>(seed_count(5)); ++seed) {
    for (bool same : {false, true}) {
      AuthCluster ac(780 + seed);
      auto& a = ac.add("A", good_secret);
      auto& b = ac.add("B", good_secret);
      auto& cc = ac.add("C", same ? good_secret : bad_secret);
      auto& d = ac.add("D", same ? good_secret : bad_secret);
      ac.c.world.network().partition({{"A", "B"}, {"C", "D"}});
      form_pair(ac, a, b);
      form_pair(ac, cc, d);
      View left = *a.view(), right = *cc.view();
      ac.c.world.network().heal();
      if (same) {
        CHECK_MESSAGE(ac.c.world.run_until(
                          [&] {
                            return MCluster::agree({&a, &b, &cc, &d});
                          },
                          30s),
                      "seed ", seed, ": no merge with the same secret");
        uint64_t passed = 0;
        for (auto* n : {&a, &b, &cc, &d})
          passed += stat(*n, "AUTH", "merge_checks_passed");
        CHECK(passed >= 2);
      } else {
        ac.c.world.run_for(30s);  // many MERGE rounds
        CHECK(MCluster::agree({&a, &b}));
        CHECK(MCluster::agree({&cc, &d}));
        CHECK(a.view()->id() == left.id());
        CHECK(cc.view()->id() == right.id());
        uint64_t refused = 0;
        for (auto* n : {&a, &cc})
          refused += stat(*n, "AUTH", "merge_members_refused");
        CHECK_MESSAGE(refused > 0, "seed ", seed, ": no merge attempt was refused");
      }
      ac.c.check_view_invariants();
    }
  }
}
