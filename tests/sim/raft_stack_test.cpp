// ELECTION + REPLICATION as stack protocols over the simulated network: the adapters wire the
// pure cores correctly, every member applies the same commands in the same order, and the
// cluster survives leader crashes and restarts (with unsynced data lost).
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>

#include "protocols/raft/election_protocol.hpp"
#include "protocols/raft/log/memory_log_store.hpp"
#include "protocols/raft/raft_events.hpp"
#include "protocols/raft/replication_protocol.hpp"
#include "protocols/raft/state_machine.hpp"
#include "stack/channel.hpp"
#include "stack/sim/sim_transport.hpp"
#include "stack/sim/sim_world.hpp"

using namespace cohort;
using namespace cohort::sim;

namespace {

// Records every applied command; the result is the command's index as text.
class RecordingMachine : public StateMachine {
 public:
  std::map<uint64_t, std::string> applied;
  Buffer apply(const ApplyContext& ctx, const Buffer& cmd) override {
    applied[ctx.index] = cmd.str();
    return Buffer::copy_of(fmt::format("{}", ctx.index));
  }
  Buffer query(const Buffer&) const override { return {}; }
  Buffer snapshot() const override {
    std::string s;
    for (auto& [i, c] : applied)
      s += fmt::format("{}={};", i, c);
    return Buffer::copy_of(s);
  }
  void restore(const Buffer& b) override {
    applied.clear();
    std::string s = b.str();
    size_t pos = 0;
    while (pos < s.size()) {
      size_t eq = s.find('=', pos), semi = s.find(';', pos);
      applied[std::stoull(s.substr(pos, eq - pos))] = s.substr(eq + 1, semi - eq - 1);
      pos = semi + 1;
    }
  }
};

struct RaftNode {
  std::string id;
  std::shared_ptr<SimRuntime> rt;
  std::shared_ptr<raft::MemoryLogStore> disk = std::make_shared<raft::MemoryLogStore>();
  RecordingMachine sm;
  std::unique_ptr<Channel> ch;
  raft::LeaderChanged last_leader;
  bool multicast = false;

  void start(const std::string& members, uint64_t max_log_size = 64u << 20) {
    sm = RecordingMachine();
    auto stack = std::make_unique<ProtocolStack>(rt);
    stack->add(std::make_unique<SimTransport>());
    stack->add(std::make_unique<raft::ElectionProtocol>());
    auto repl = std::make_unique<raft::ReplicationProtocol>();
    REQUIRE(repl->set_attribute("members", members).empty());
    REQUIRE(repl->set_attribute("raft_id", id).empty());
    REQUIRE(repl->set_attribute("max_log_size", fmt::format("{}", max_log_size)).empty());
    REQUIRE(repl->set_attribute("multicast_append", multicast ? "true" : "false").empty());
    repl->use_store(disk);
    stack->add(std::move(repl));
    stack->init();
    ch = std::make_unique<Channel>(std::move(stack));
    ch->set_name(id);
    ch->on_event([this](const Event& ev) {
      if (ev.type == event::leader_changed) last_leader = ev.get<raft::LeaderChanged>();
    });
    ch->connect("raft", nullptr);
    Event set_sm(raft::raft_event::set_state_machine, static_cast<StateMachine*>(&sm));
    rt->post([this, set_sm]() mutable { ch->stack().down(set_sm); });
  }
  void crash() {
    ch.reset();  // the runtime drops every pending event of this incarnation
    disk->crash();
  }
  raft::RaftStatus status() {
    Event ev(raft::raft_event::status);
    return std::any_cast<raft::RaftStatus>(ch->stack().down(ev));
  }
  raft::ProposeOutcome propose(const std::string& cmd) {
    Event ev(raft::raft_event::propose, raft::ProposeRequest{Buffer::copy_of(cmd)});
    return std::any_cast<raft::ProposeOutcome>(ch->stack().down(ev));
  }
};

struct Cluster {
  SimWorld world;
  std::vector<RaftNode> nodes;
  explicit Cluster(uint64_t seed, int n = 3, bool multicast = false)
      : world(seed), nodes(static_cast<size_t>(n)) {
    std::string members;
    for (int i = 0; i < n; ++i)
      members += fmt::format("{}{}", i ? "," : "", char('A' + i));
    for (int i = 0; i < n; ++i) {
      nodes[static_cast<size_t>(i)].id = std::string(1, char('A' + i));
      nodes[static_cast<size_t>(i)].rt = world.add_node(nodes[static_cast<size_t>(i)].id);
      nodes[static_cast<size_t>(i)].multicast = multicast;
    }
    for (auto& nd : nodes)
      nd.start(members);
  }
  std::string members() const {
    std::string m;
    for (auto& nd : nodes)
      m += (m.empty() ? "" : ",") + nd.id;
    return m;
  }
  RaftNode* leader() {
    RaftNode* found = nullptr;
    uint64_t best = 0;
    for (auto& nd : nodes)
      if (nd.ch) {
        auto s = nd.status();
        if (s.role == raft::Role::leader && s.term >= best) found = &nd, best = s.term;
      }
    return found;
  }
  bool wait_leader(Duration limit = 5s) {
    return world.run_until([&] { return leader() != nullptr; }, limit);
  }
  // Same command at the same index on every member that applied it.
  void check_agreement() {
    std::map<uint64_t, std::string> seen;
    for (auto& nd : nodes)
      for (auto& [i, c] : nd.sm.applied) {
        auto [it, fresh] = seen.emplace(i, c);
        INFO("seed " << world.seed() << " node " << nd.id << " index " << i);
        CHECK(it->second == c);
      }
  }
};

}  // namespace

TEST_CASE("a leader is elected and commands are applied everywhere in order") {
  Cluster c(1);
  REQUIRE(c.wait_leader());
  RaftNode* l = c.leader();
  for (int i = 0; i < 20; ++i)
    CHECK(l->propose(fmt::format("cmd{}", i)).ok());
  CHECK(c.world.run_until(
      [&] {
        for (auto& nd : c.nodes)
          if (nd.sm.applied.size() < 20) return false;
        return true;
      },
      5s));
  c.check_agreement();
  // Followers refuse proposals with a hint naming the leader.
  for (auto& nd : c.nodes)
    if (&nd != l) {
      auto r = nd.propose("x");
      CHECK(r.error == "not_leader");
      CHECK(r.leader_hint == l->id);
    }
  CHECK(l->last_leader.leader == l->id);
}

TEST_CASE("leader crash: a new leader takes over, the restarted member catches up") {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    Cluster c(seed);
    c.world.network().defaults = LinkFaults{0.02, 0.02, 100us, 2ms};
    REQUIRE(c.wait_leader());
    RaftNode* l = c.leader();
    int acked = 0;
    for (int i = 0; i < 10; ++i)
      acked += l->propose(fmt::format("a{}", i)).ok();
    c.world.run_for(200ms);
    l->crash();
    REQUIRE_MESSAGE(c.world.run_until([&] { return c.leader() && c.leader() != l; }, 5s),
                    "seed " << seed);
    RaftNode* l2 = c.leader();
    for (int i = 0; i < 10; ++i)
      l2->propose(fmt::format("b{}", i));
    c.world.run_for(200ms);
    l->start(c.members());
    bool caught_up = c.world.run_until(
        [&] {
          auto s = l2->status();
          return l->ch && l->status().applied_index >= s.commit_index && s.commit_index >= 21;
        },
        10s);
    INFO("seed " << seed);
    CHECK(caught_up);
    c.check_agreement();
  }
}

TEST_CASE("log compaction: a snapshot replaces the log and a lagging member installs it") {
  Cluster c(3);
  for (auto& nd : c.nodes)
    nd.crash();
  for (auto& nd : c.nodes)
    nd.start(c.members(), 2000);  // tiny max_log_size: frequent snapshots
  REQUIRE(c.wait_leader());
  RaftNode* l = c.leader();
  RaftNode* lagging = l == &c.nodes[0] ? &c.nodes[1] : &c.nodes[0];
  lagging->crash();
  for (int i = 0; i < 200; ++i) {
    l->propose(fmt::format("payload-{:04}-{}", i, std::string(20, 'x')));
    c.world.run_for(1ms);
  }
  c.world.run_for(100ms);
  CHECK(l->ch->stack().find("REPLICATION")->stat("snapshots") > 0);
  lagging->start(c.members(), 2000);
  CHECK(c.world.run_until(
      [&] { return lagging->status().applied_index >= l->status().commit_index; }, 10s));
  CHECK(lagging->sm.applied.size() == l->sm.applied.size());
  c.check_agreement();
}

TEST_CASE("multicast_append: one group send per batch, lossy followers catch up by rejection") {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    Cluster c(seed, 5, true);
    c.world.network().defaults = LinkFaults{0.05, 0.02, 100us, 2ms};
    REQUIRE(c.wait_leader());
    RaftNode* l = c.leader();
    for (int i = 0; i < 50; ++i) {
      l->propose(fmt::format("m{}", i));
      c.world.run_for(2ms);
    }
    INFO("seed " << seed);
    CHECK(c.world.run_until(
        [&] {
          for (auto& nd : c.nodes)
            if (nd.status().applied_index < l->status().commit_index ||
                l->status().commit_index < 51)
              return false;
          return true;
        },
        10s));
    CHECK(l->ch->stack().find("REPLICATION")->stat("multicast_appends") > 0);
    c.check_agreement();
  }
}
