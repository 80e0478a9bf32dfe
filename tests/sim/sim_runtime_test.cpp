// The simulation runtime: virtual time, determinism from the seed, network faults, partitions,
// crash + restart.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <map>

#include "stack/channel.hpp"
#include "stack/sim/sim_transport.hpp"
#include "stack/sim/sim_world.hpp"

using namespace cohort;
using namespace cohort::sim;

namespace {

struct SimNode {
  std::shared_ptr<SimRuntime> rt;
  std::unique_ptr<Channel> ch;
  std::vector<std::string> received;
  View last_view;
};

std::unique_ptr<Channel> make_channel(const std::shared_ptr<SimRuntime>& rt, SimNode& n) {
  auto stack = std::make_unique<ProtocolStack>(rt);
  stack->add(std::make_unique<SimTransport>());
  stack->init();
  auto ch = std::make_unique<Channel>(std::move(stack));
  ch->set_name(rt->name());
  ch->on_message([&n](Message& m) { n.received.push_back(m.payload().str()); });
  ch->on_view([&n](const View& v) { n.last_view = v; });
  ch->connect("sim", nullptr);
  return ch;
}

// Runs a small chatty workload with faults; returns the world's trace hash.
uint64_t run_workload(uint64_t seed, std::map<std::string, size_t>* received = nullptr) {
  SimWorld world(seed);
  world.network().defaults = LinkFaults{0.1, 0.05, 100us, 5ms};
  std::vector<SimNode> nodes(3);
  for (size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].rt = world.add_node(fmt::format("N{}", i));
    nodes[i].ch = make_channel(nodes[i].rt, nodes[i]);
  }
  world.run_for(1ms);
  for (int k = 0; k < 50; ++k) {
    for (auto& n : nodes) {
      auto& rt = *n.rt;
      rt.schedule(rt.random_between(0us, 20ms), [&n, k] {
        n.ch->stack().down(
            *std::make_unique<Message>(Address(), Buffer::copy_of(fmt::format("m{}", k))));
      });
    }
  }
  world.run_for(1s);
  if (received)
    for (auto& n : nodes)
      (*received)[n.rt->name()] = n.received.size();
  return world.trace_hash();
}

}  // namespace

TEST_CASE("same seed gives the same trace, another seed another trace") {
  uint64_t a = run_workload(42), b = run_workload(42), c = run_workload(43);
  INFO("seed 42 hash " << a << ", seed 43 hash " << c);
  CHECK(a == b);
  CHECK(a != c);
}

TEST_CASE("faults drop and duplicate frames") {
  std::map<std::string, size_t> received;
  run_workload(7, &received);
  // 150 group messages reach each node (self included); with 10% loss and 5% duplication the
  // counts differ from 150 but stay near it.
  for (auto& [name, n] : received) {
    CHECK(n > 100);
    CHECK(n < 200);
  }
}

TEST_CASE("virtual time and timers") {
  SimWorld world(1);
  auto rt = world.add_node("A");
  std::vector<int> order;
  rt->schedule(30ms, [&] { order.push_back(3); });
  rt->schedule(10ms, [&] { order.push_back(1); });
  auto h = rt->schedule(20ms, [&] { order.push_back(2); });
  h.cancel();
  rt->post([&] { order.push_back(0); });
  world.run_for(25ms);
  CHECK(order == std::vector<int>{0, 1});
  CHECK(world.now() == 25ms);
  world.run_for(10ms);
  CHECK(order == std::vector<int>{0, 1, 3});
}

TEST_CASE("offloaded work completes in order after virtual time, a crash drops it") {
  SimWorld world(1);
  auto rt = world.add_node("A");
  std::vector<int> done;
  rt->offload([] {}, [&] { done.push_back(1); });
  rt->offload([] {}, [&] { done.push_back(2); });
  world.run_for(2ms);
  CHECK(done == std::vector<int>{1, 2});
  bool ran = false;
  rt->offload([&] { ran = true; }, [] {});
  rt->crash();
  world.run_for(2ms);
  CHECK_FALSE(ran);
}

TEST_CASE("partition splits views of reachability and heal restores delivery") {
  SimWorld world(5);
  std::vector<SimNode> nodes(3);
  for (size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].rt = world.add_node(fmt::format("N{}", i));
    nodes[i].ch = make_channel(nodes[i].rt, nodes[i]);
  }
  world.run_for(1ms);
  CHECK(nodes[2].last_view.size() == 3);
  world.network().partition({{"N0", "N1"}, {"N2"}});
  Message m(Address(), Buffer::copy_of("hello"));
  nodes[0].ch->stack().down(m);
  world.run_for(10ms);
  CHECK(nodes[1].received.size() == 1);
  CHECK(nodes[2].received.empty());
  world.network().heal();
  Message m2(Address(), Buffer::copy_of("again"));
  nodes[0].ch->stack().down(m2);
  world.run_for(10ms);
  CHECK(nodes[2].received == std::vector<std::string>{"again"});
}

TEST_CASE("crash and restart: the restarted node is a new incarnation") {
  SimWorld world(9);
  std::vector<SimNode> nodes(2);
  for (size_t i = 0; i < nodes.size(); ++i) {
    nodes[i].rt = world.add_node(fmt::format("N{}", i));
    nodes[i].ch = make_channel(nodes[i].rt, nodes[i]);
  }
  world.run_for(1ms);
  Address old = nodes[1].ch->address();
  nodes[1].ch.reset();  // crash: pending events of N1 are dropped, its transport detaches
  world.run_for(1ms);
  Message m(old, Buffer::copy_of("lost"));
  nodes[0].ch->stack().down(m);
  world.run_for(5ms);
  nodes[1].received.clear();
  nodes[1].ch = make_channel(nodes[1].rt, nodes[1]);
  world.run_for(1ms);
  CHECK(nodes[1].ch->address() != old);
  CHECK(nodes[0].last_view.size() == 2);
  Message m2(Address(), Buffer::copy_of("hi"));
  nodes[0].ch->stack().down(m2);
  world.run_for(5ms);
  CHECK(nodes[1].received == std::vector<std::string>{"hi"});
}

TEST_CASE("blocking work holds the node events back and its completion runs first") {
  SimWorld world(1);
  auto a = world.add_node("A");
  auto b = world.add_node("B");
  a->offload_min = a->offload_max = 1ms;
  std::vector<std::string> order;
  bool worked = false;
  a->run_blocking([&] { worked = true; }, [&] { order.push_back("A done"); });
  CHECK(worked);  // the work itself runs at once; the node is busy for its virtual time
  a->schedule(100us, [&] { order.push_back("A timer"); });
  a->post([&] { order.push_back("A post"); });
  b->schedule(100us, [&] { order.push_back("B timer"); });
  world.run_for(500us);
  CHECK(order == std::vector<std::string>{"B timer"});  // only the other node ran
  world.run_for(1ms);
  CHECK(order == std::vector<std::string>{"B timer", "A done", "A timer", "A post"});

  // A crash while busy drops the completion and frees the restarted node at once.
  order.clear();
  a->run_blocking([] {}, [&] { order.push_back("A done"); });
  a->crash();
  a->post([&] { order.push_back("A restarted"); });
  world.run_for(2ms);
  CHECK(order == std::vector<std::string>{"A restarted"});
}
