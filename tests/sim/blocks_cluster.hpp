#pragma once
// A simulated cluster running the full Raft stack (SIM, ELECTION, REPLICATION, CLIENT) with a
// RaftHandle and the stock services on every member, for whole-system tests of the blocks.
#include <fmt/format.h>

#include <memory>
#include <string>
#include <vector>

#include "blocks/counter_service.hpp"
#include "blocks/lock_service.hpp"
#include "blocks/raft_handle.hpp"
#include "blocks/replicated_map.hpp"
#include "protocols/raft/client_protocol.hpp"
#include "protocols/raft/election_protocol.hpp"
#include "protocols/raft/log/memory_log_store.hpp"
#include "protocols/raft/replication_protocol.hpp"
#include "stack/sim/sim_transport.hpp"
#include "stack/sim/sim_world.hpp"

namespace cohort::test {

struct BlockNode {
  std::string id;
  std::shared_ptr<sim::SimRuntime> rt;
  std::shared_ptr<raft::MemoryLogStore> disk = std::make_shared<raft::MemoryLogStore>();
  std::unique_ptr<Channel> ch;
  std::unique_ptr<RaftHandle> handle;
  CounterService* counters = nullptr;
  LockService* locks = nullptr;
  ReplicatedMap<std::string, std::string>* map = nullptr;

  void start(const std::string& members, SessionConfig cfg = {}) {
    auto stack = std::make_unique<ProtocolStack>(rt);
    stack->add(std::make_unique<sim::SimTransport>());
    stack->add(std::make_unique<raft::ElectionProtocol>());
    auto repl = std::make_unique<raft::ReplicationProtocol>();
    repl->set_attribute("members", members);
    repl->set_attribute("raft_id", id);
    repl->use_store(disk);
    stack->add(std::move(repl));
    auto client = std::make_unique<raft::ClientProtocol>();
    client->set_attribute("timeout", "60s");
    stack->add(std::move(client));
    stack->init();
    ch = std::make_unique<Channel>(std::move(stack));
    ch->set_name(id);
    handle = std::make_unique<RaftHandle>(*ch, cfg);
    counters = &handle->add_service("counter", std::make_unique<CounterService>());
    locks = &handle->add_service("lock", std::make_unique<LockService>());
    map = &handle->add_service("map", std::make_unique<ReplicatedMap<std::string, std::string>>());
    ch->connect("blocks", nullptr);
  }
  void crash() {
    handle.reset();
    ch.reset();
    disk->crash();
  }
  bool up() const { return ch != nullptr; }
  raft::RaftStatus status() {
    Event ev(raft::raft_event::status);
    return std::any_cast<raft::RaftStatus>(ch->stack().down(ev));
  }
};

struct BlockCluster {
  sim::SimWorld world;
  std::vector<BlockNode> nodes;
  std::string members;

  explicit BlockCluster(uint64_t seed, int n = 3, SessionConfig cfg = {})
      : world(seed), nodes(static_cast<size_t>(n)) {
    for (int i = 0; i < n; ++i)
      members += fmt::format("{}{}", i ? "," : "", char('A' + i));
    for (int i = 0; i < n; ++i) {
      auto& nd = nodes[static_cast<size_t>(i)];
      nd.id = std::string(1, char('A' + i));
      nd.rt = world.add_node(nd.id);
    }
    for (auto& nd : nodes)
      nd.start(members, cfg);
  }
  BlockNode* leader() {
    BlockNode* found = nullptr;
    uint64_t best = 0;
    for (auto& nd : nodes)
      if (nd.up()) {
        auto s = nd.status();
        if (s.role == raft::Role::leader && s.term >= best) found = &nd, best = s.term;
      }
    return found;
  }
  /// A member other than the current leader (the last such in `nodes`).
  BlockNode* follower() {
    BlockNode* l = leader();
    BlockNode* found = nullptr;
    for (auto& nd : nodes)
      if (&nd != l) found = &nd;
    return found;
  }
};

/// Runs the simulation until `done`, polling `io` (an asio::io_context where the test's
/// coroutines run) between steps; false if `limit` of virtual time passed first.
template <class IoContext>
bool run_with_io(sim::SimWorld& world, IoContext& io, const bool& done,
                 Duration limit = std::chrono::seconds(10)) {
  return world.run_until(
      [&] {
        io.poll();
        io.restart();
        return done;
      },
      limit);
}

}  // namespace cohort::test
