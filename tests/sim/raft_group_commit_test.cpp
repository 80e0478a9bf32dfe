// Group commit as production drives it (issue 5): REPLICATION keeps one log sync in flight on
// the runtime's writer (offload) and every append made meanwhile joins the next sync. Three
// members on real FileLogStores over the simulated network; each sync takes 100..400 us of
// virtual time, so the counts below are deterministic per seed.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <stdlib.h>

#include <filesystem>

#include "protocols/raft/election_protocol.hpp"
#include "protocols/raft/log/file_log_store.hpp"
#include "protocols/raft/raft_events.hpp"
#include "protocols/raft/replication_protocol.hpp"
#include "stack/channel.hpp"
#include "stack/sim/sim_transport.hpp"
#include "stack/sim/sim_world.hpp"

using namespace cohort;
using namespace cohort::sim;

namespace {

class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/cohort-gc-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct Member {
  std::string id;
  std::shared_ptr<SimRuntime> rt;
  ScratchDir dir;
  std::shared_ptr<raft::FileLogStore> store;
  std::unique_ptr<Channel> ch;

  void start() {
    store = std::make_shared<raft::FileLogStore>(dir.path());
    auto stack = std::make_unique<ProtocolStack>(rt);
    stack->add(std::make_unique<SimTransport>());
    stack->add(std::make_unique<raft::ElectionProtocol>());
    auto repl = std::make_unique<raft::ReplicationProtocol>();
    REQUIRE(repl->set_attribute("members", "A,B,C").empty());
    REQUIRE(repl->set_attribute("raft_id", id).empty());
    repl->use_store(store);
    stack->add(std::move(repl));
    stack->init();
    ch = std::make_unique<Channel>(std::move(stack));
    ch->set_name(id);
    ch->connect("raft", nullptr);
  }
  raft::RaftStatus status() const {
    Event ev(raft::raft_event::status);
    return std::any_cast<raft::RaftStatus>(ch->stack().down(ev));
  }
  bool propose(const std::string& cmd) {
    Event ev(raft::raft_event::propose, raft::ProposeRequest{Buffer::copy_of(cmd)});
    return std::any_cast<raft::ProposeOutcome>(ch->stack().down(ev)).ok();
  }
  uint64_t stat(std::string_view name) const { return ch->stack().find("REPLICATION")->stat(name); }
};

struct Cluster {
  SimWorld world;
  std::vector<Member> members = std::vector<Member>(3);
  explicit Cluster(uint64_t seed) : world(seed) {
    for (size_t i = 0; i < members.size(); ++i) {
      members[i].id = std::string(1, char('A' + i));
      members[i].rt = world.add_node(members[i].id);
    }
    for (auto& m : members)
      m.start();
  }
  Member* leader() {
    for (auto& m : members)
      if (m.status().role == raft::Role::leader) return &m;
    return nullptr;
  }
  /// Proposes `count` commands on the leader, one every `spacing` of virtual time, and waits
  /// until every member has applied them. Returns the leader.
  Member* load(int count, Duration spacing) {
    Member* l = nullptr;
    REQUIRE(world.run_until([&] { return (l = leader()) != nullptr; }, 5s));
    world.run_for(100ms);
    for (int i = 0; i < count; ++i) {
      REQUIRE(l->propose(fmt::format("cmd-{}", i)));
      world.run_for(spacing);
    }
    const raft::Index target = l->status().last_index;
    REQUIRE(world.run_until(
        [&] {
          for (auto& m : members)
            if (m.status().applied_index < target) return false;
          return true;
        },
        10s));
    return l;
  }
};

}  // namespace

TEST_CASE("raft group commit: REPLICATION's writer makes one fdatasync cover many proposals") {
  // 2000 proposals, one every 10 us: a sync (100..400 us) covers tens of them.
  const int proposals = 2000;
  Cluster c(1);
  Member* l = c.load(proposals, 10us);
  CHECK(l->stat("proposals") == uint64_t(proposals));
  for (auto& m : c.members) {
    INFO("member " << m.id);
    const uint64_t fsyncs = m.store->segment_syncs();
    const uint64_t syncs = m.stat("syncs");
    MESSAGE(fmt::format("{}{}: {} proposals, {} syncs, {} fdatasyncs", m.id,
                        &m == l ? " (leader)" : "", proposals, syncs, fsyncs));
    CHECK(fsyncs >= 1);
    CHECK(fsyncs <= syncs);                     // one segment: at most one fdatasync per sync
    CHECK(fsyncs * 10 <= uint64_t(proposals));  // group commit: many appends per fdatasync
    CHECK(m.store->durable_index() >= uint64_t(proposals));
  }
}

TEST_CASE("raft group commit: proposals slower than a sync each get their own") {
  // The counter tracks the load: one proposal every 2 ms leaves nothing to group.
  const int proposals = 50;
  Cluster c(2);
  Member* l = c.load(proposals, 2ms);
  MESSAGE(fmt::format("leader: {} proposals 2 ms apart, {} fdatasyncs", proposals,
                      l->store->segment_syncs()));
  CHECK(l->store->segment_syncs() >= uint64_t(proposals));
}
