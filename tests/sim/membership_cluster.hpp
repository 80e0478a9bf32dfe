#pragma once
// A simulated cluster for the membership protocols (UNICAST, NAKACK, GMS, FD_ALL,
// VERIFY_SUSPECT, MERGE): nodes on one SimWorld, each recording what it delivers and every view
// it installs, with helpers to crash, leave, and check agreement of views.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "protocols/fd_all.hpp"
#include "protocols/gms.hpp"
#include "protocols/merge.hpp"
#include "protocols/nakack.hpp"
#include "protocols/unicast.hpp"
#include "protocols/verify_suspect.hpp"
#include "stack/channel.hpp"
#include "stack/sim/sim_transport.hpp"
#include "stack/sim/sim_world.hpp"

namespace cohort::test {

/// Protocol timings of the simulated stacks (virtual time).
struct MembershipTimings {
  Duration fd_interval = 200ms, fd_timeout = 1s, fd_check = 100ms;
  Duration verify_timeout = 300ms;
  Duration join_timeout = 300ms, view_ack_timeout = 500ms;
  Duration merge_min = 500ms, merge_max = 1s;
  Duration xmit_interval = 50ms, stable_interval = 300ms;
};

enum Layers : unsigned {
  with_unicast = 1,
  with_nakack = 2,
  with_gms = 4,  // also FD_ALL + VERIFY_SUSPECT + MERGE
  full = with_unicast | with_nakack | with_gms,
};

struct MNode {
  std::string name;
  std::shared_ptr<sim::SimRuntime> rt;
  std::unique_ptr<Channel> ch;
  Address addr;
  std::vector<View> views;
  int merge_views = 0;
  std::vector<std::pair<Address, std::string>> delivered;  // (src, payload)

  bool alive() const { return ch != nullptr; }
  const View* view() const { return views.empty() ? nullptr : &views.back(); }
  template <typename P>
  P* find() const {
    return ch ? ch->stack().find<P>() : nullptr;
  }
};

inline std::string set(Protocol& p, const char* attr, Duration d) {
  return p.set_attribute(attr, fmt::format("{}us", d.count() / 1000));
}

class MCluster {
 public:
  MCluster(uint64_t seed, unsigned layers, MembershipTimings t = {})
      : world(seed), layers_(layers), t_(t) {}

  sim::SimWorld world;

  MNode& add(const std::string& name) {
    nodes.push_back(std::make_unique<MNode>());
    nodes.back()->name = name;
    nodes.back()->rt = world.add_node(name);
    return *nodes.back();
  }
  void start(MNode& n) {
    n.views.clear();
    n.delivered.clear();
    n.merge_views = 0;
    auto stack = std::make_unique<ProtocolStack>(n.rt);
    auto transport = std::make_unique<sim::SimTransport>();
    REQUIRE(transport->set_attribute("views", (layers_ & with_gms) ? "false" : "true").empty());
    stack->add(std::move(transport));
    if (layers_ & with_gms) {
      auto merge = std::make_unique<Merge>();
      REQUIRE(set(*merge, "min_interval", t_.merge_min).empty());
      REQUIRE(set(*merge, "max_interval", t_.merge_max).empty());
      stack->add(std::move(merge));
      auto fd = std::make_unique<FdAll>();
      REQUIRE(set(*fd, "interval", t_.fd_interval).empty());
      REQUIRE(set(*fd, "timeout", t_.fd_timeout).empty());
      REQUIRE(set(*fd, "timeout_check_interval", t_.fd_check).empty());
      stack->add(std::move(fd));
      auto vs = std::make_unique<VerifySuspect>();
      REQUIRE(set(*vs, "timeout", t_.verify_timeout).empty());
      stack->add(std::move(vs));
    }
    if (layers_ & with_nakack) {
      auto nak = std::make_unique<Nakack>();
      REQUIRE(set(*nak, "xmit_interval", t_.xmit_interval).empty());
      REQUIRE(set(*nak, "stable_interval", t_.stable_interval).empty());
      stack->add(std::move(nak));
    }
    if (layers_ & with_unicast) {
      auto uni = std::make_unique<Unicast>();
      REQUIRE(set(*uni, "xmit_interval", t_.xmit_interval).empty());
      if (unicast_tweak) unicast_tweak(*uni);
      stack->add(std::move(uni));
    }
    if (below_gms) below_gms(n, *stack);
    if (layers_ & with_gms) {
      auto gms = std::make_unique<Gms>();
      REQUIRE(set(*gms, "join_timeout", t_.join_timeout).empty());
      REQUIRE(set(*gms, "view_ack_timeout", t_.view_ack_timeout).empty());
      REQUIRE(gms->set_attribute("print_local_addr", "false").empty());
      stack->add(std::move(gms));
    }
    stack->init();
    n.ch = std::make_unique<Channel>(std::move(stack));
    n.ch->set_name(n.name);
    MNode* np = &n;
    n.ch->on_message([np](Message& m) { np->delivered.emplace_back(m.src(), m.payload().str()); });
    n.ch->on_view([np](const View& v) { np->views.push_back(v); });
    n.ch->on_event([np](const Event& ev) {
      if (ev.type == event::merge_view) ++np->merge_views;
    });
    // The address is picked by the posted connect: run the world (or wait) before using it.
    n.ch->connect("mcluster", [np](std::error_code) { np->addr = np->ch->address(); });
  }
  /// Starts a node and runs the world until it is connected (not from inside a sim event).
  void start_now(MNode& n) {
    start(n);
    world.run_for(1us);
  }
  /// A crash: every pending event of the node is dropped, its transport detaches.
  void crash(MNode& n) { n.ch.reset(); }
  /// A graceful leave (what Channel::close does, on the loop).
  void leave(MNode& n) {
    Event disc(event::disconnect);
    n.ch->stack().down(disc);
    n.ch->stack().stop();
    n.ch.reset();
  }
  void send(MNode& from, const Address& dest, std::string payload, uint16_t flags = 0) {
    Message m(dest, Buffer::copy_of(payload));
    m.flags(flags);
    from.ch->stack().down(m);
  }

  std::vector<MNode*> live() const {
    std::vector<MNode*> out;
    for (auto& n : nodes)
      if (n->alive()) out.push_back(n.get());
    return out;
  }
  /// True if every node in `group` has the same last view and its members are exactly `group`.
  static bool agree(const std::vector<MNode*>& group) {
    if (group.empty() || !group[0]->view()) return false;
    const View& v = *group[0]->view();
    if (v.size() != group.size()) return false;
    for (auto* n : group) {
      if (!n->view() || !(n->view()->id() == v.id()) || !v.contains(n->addr)) return false;
    }
    return true;
  }
  bool all_live_agree() const { return agree(live()); }

  /// Invariants over every view installed anywhere: a view id names one member list everywhere,
  /// each node installs views in increasing id order, and contains itself in each.
  void check_view_invariants() const {
    std::map<std::pair<Address, uint64_t>, std::vector<Address>> by_id;
    for (auto& n : nodes) {
      uint64_t last = 0;
      for (auto& v : n->views) {
        CHECK_MESSAGE(v.id().id > last, n->name, " installed ", v.to_string(), " after id ", last);
        last = v.id().id;
        CHECK(v.contains(n->addr));
        auto [it, fresh] = by_id.emplace(std::make_pair(v.id().creator, v.id().id), v.members());
        CHECK_MESSAGE(it->second == v.members(), "view id ", v.id().id, " has two member lists");
      }
    }
  }

  std::vector<std::unique_ptr<MNode>> nodes;
  std::function<void(Unicast&)> unicast_tweak;
  /// Adds protocols of a node's own between UNICAST and GMS (e.g. AUTH).
  std::function<void(MNode&, ProtocolStack&)> below_gms;

 private:
  unsigned layers_;
  MembershipTimings t_;
};

/// Seeds for loops: COHORT_SIM_SEEDS overrides the count.
inline int seed_count(int dflt) {
  if (const char* s = std::getenv("COHORT_SIM_SEEDS")) return std::max(1, std::atoi(s));
  return dflt;
}

}  // namespace cohort::test
