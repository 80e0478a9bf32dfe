// The membership protocols on the simulated network, over many seeds each (COHORT_SIM_SEEDS
// overrides the count; a failure names its seed, and the same seed replays the same run):
// UNICAST and NAKACK deliver exactly once and in order under loss, duplication and reordering;
// GMS views agree; a crash is detected within FD_ALL's timeout plus verification; a partition
// yields two views and healing it one merged view.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include "membership_cluster.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

sim::LinkFaults lossy() {
  return sim::LinkFaults{0.2, 0.1, 100us, 5ms};  // 20% loss, 10% duplicates, jitter reorders
}

// Every receiver got, from every sender, exactly "<sender>:0" .. "<sender>:n-1" in order.
void check_fifo_exactly_once(const MNode& rcv, const MNode& snd, int n, uint64_t seed) {
  std::vector<std::string> got;
  for (auto& [src, p] : rcv.delivered)
    if (src == snd.addr) got.push_back(p);
  std::vector<std::string> want;
  for (int k = 0; k < n; ++k)
    want.push_back(fmt::format("{}:{}", snd.name, k));
  CHECK_MESSAGE(got == want, "seed ", seed, ": ", rcv.name, " from ", snd.name, " got ", got.size(),
                " messages");
}

size_t count_from(const MNode& rcv, const MNode& snd) {
  size_t c = 0;
  for (auto& [src, p] : rcv.delivered)
    c += src == snd.addr;
  return c;
}

// Each sender sends `per_peer` messages to every other node at random times within 50ms.
void unicast_scenario(uint64_t seed, int per_peer, uint64_t* window_full = nullptr) {
  MCluster c(seed, with_unicast);
  if (window_full)
    c.unicast_tweak = [](Unicast& u) {
      REQUIRE(u.set_attribute("max_send_window", "4").empty());
      REQUIRE(u.set_attribute("max_recv_window", "8").empty());
    };
  c.world.network().defaults = lossy();
  for (int i = 0; i < 3; ++i)
    c.start_now(c.add(fmt::format("U{}", i)));
  for (auto& s : c.nodes)
    for (auto& r : c.nodes) {
      if (s == r) continue;
      Address dest = r->addr;
      MNode* sp = s.get();
      // Sends happen in order k = 0, 1, ... at increasing random times.
      Duration at{0};
      for (int k = 0; k < per_peer; ++k) {
        at += s->rt->random_between(0us, 1ms);
        s->rt->schedule(
            at, [&c, sp, dest, k] { c.send(*sp, dest, fmt::format("{}:{}", sp->name, k)); });
      }
    }
  auto done = [&] {
    for (auto& r : c.nodes)
      for (auto& s : c.nodes)
        if (r != s && count_from(*r, *s) < static_cast<size_t>(per_peer)) return false;
    return true;
  };
  bool ok = c.world.run_until(done, 60s);
  CHECK_MESSAGE(ok, "seed ", seed, ": not everything delivered");
  c.world.run_for(2s);  // late duplicates must not be delivered again
  for (auto& r : c.nodes)
    for (auto& s : c.nodes)
      if (r != s) check_fifo_exactly_once(*r, *s, per_peer, seed);
  for (auto& n : c.nodes)
    CHECK_MESSAGE(n->find<Unicast>()->unacked() == 0, "seed ", seed, ": unacked left at ", n->name);
  if (window_full)
    for (auto& n : c.nodes)
      *window_full += n->find<Unicast>()->stat("send_window_full");
}

}  // namespace

TEST_CASE("UNICAST: exactly once, in order, under loss, duplication and reordering") {
  int seeds = seed_count(200);
  for (int s = 1; s <= seeds; ++s)
    unicast_scenario(static_cast<uint64_t>(s), 30);
}

TEST_CASE("UNICAST: small windows are hit, counted, and still deliver everything") {
  uint64_t full = 0;
  for (int s = 1; s <= seed_count(100); ++s)
    unicast_scenario(static_cast<uint64_t>(1000 + s), 40, &full);
  CHECK(full > 0);
}

TEST_CASE("UNICAST: a restarted peer (new address) gets a new connection") {
  MCluster c(77, with_unicast);
  c.world.network().defaults = lossy();
  auto& a = c.add("A");
  auto& b = c.add("B");
  c.start_now(a);
  c.start_now(b);
  for (int k = 0; k < 10; ++k)
    c.send(a, b.addr, fmt::format("A:{}", k));
  REQUIRE(c.world.run_until([&] { return count_from(b, a) == 10; }, 10s));
  c.crash(b);
  c.start_now(b);  // same name, new address: a new incarnation
  CHECK(a.find<Unicast>()->send_connections() == 1);
  for (int k = 0; k < 10; ++k)
    c.send(a, b.addr, fmt::format("A:{}", k));
  REQUIRE(c.world.run_until([&] { return count_from(b, a) == 10; }, 10s));
  check_fifo_exactly_once(b, a, 10, 77);
  CHECK(a.find<Unicast>()->send_connections() == 2);
  // The connection to the old incarnation (not a member, silent) expires.
  REQUIRE(a.find<Unicast>()->set_attribute("conn_expiry_timeout", "1s").empty());
  c.world.run_for(3s);
  CHECK(a.find<Unicast>()->send_connections() == 1);
  CHECK(a.find<Unicast>()->stat("conns_expired") >= 1);
}

namespace {

void nakack_scenario(uint64_t seed, int per_sender, bool oob) {
  MCluster c(seed, with_nakack);
  c.world.network().defaults = lossy();
  for (int i = 0; i < 4; ++i)
    c.start_now(c.add(fmt::format("M{}", i)));
  c.world.run_for(1ms);  // SIM installs its views
  for (auto& s : c.nodes) {
    MNode* sp = s.get();
    Duration at{0};
    for (int k = 0; k < per_sender; ++k) {
      at += s->rt->random_between(0us, 1ms);
      s->rt->schedule(at, [&c, sp, k, oob] {
        c.send(*sp, Address(), fmt::format("{}:{}", sp->name, k),
               oob && k % 3 == 0 ? Message::OOB : 0);
      });
    }
  }
  auto done = [&] {
    for (auto& r : c.nodes)
      for (auto& s : c.nodes)
        if (count_from(*r, *s) < static_cast<size_t>(per_sender)) return false;
    return true;
  };
  bool ok = c.world.run_until(done, 60s);
  CHECK_MESSAGE(ok, "seed ", seed, ": not everything delivered");
  c.world.run_for(3s);  // STABLE rounds: everything is purged, duplicates stay suppressed
  for (auto& r : c.nodes)
    for (auto& s : c.nodes) {
      if (!oob) {
        check_fifo_exactly_once(*r, *s, per_sender, seed);
        continue;
      }
      // OOB messages may overtake; every message still arrives exactly once, and the regular
      // ones keep their order.
      std::vector<std::string> regular, all;
      for (auto& [src, p] : r->delivered)
        if (src == s->addr) {
          all.push_back(p);
          int k = std::stoi(p.substr(p.find(':') + 1));
          if (k % 3 != 0) regular.push_back(p);
        }
      std::vector<std::string> want_regular, want_all;
      for (int k = 0; k < per_sender; ++k) {
        want_all.push_back(fmt::format("{}:{}", s->name, k));
        if (k % 3 != 0) want_regular.push_back(want_all.back());
      }
      CHECK_MESSAGE(regular == want_regular, "seed ", seed);
      std::sort(all.begin(), all.end());
      std::sort(want_all.begin(), want_all.end());
      CHECK_MESSAGE(all == want_all, "seed ", seed);
    }
  for (auto& n : c.nodes)
    CHECK_MESSAGE(n->find<Nakack>()->buffered() == 0, "seed ", seed, ": ", n->name, " holds ",
                  n->find<Nakack>()->buffered(), " unstable messages");
}

}  // namespace

TEST_CASE("NAKACK: exactly once, FIFO per sender, under loss, duplication and reordering") {
  for (int s = 1; s <= seed_count(200); ++s)
    nakack_scenario(static_cast<uint64_t>(s), 30, false);
}

TEST_CASE("NAKACK: OOB messages are reliable, exactly once, and may overtake") {
  for (int s = 1; s <= seed_count(200); ++s)
    nakack_scenario(static_cast<uint64_t>(500 + s), 30, true);
}

TEST_CASE("NAKACK: a lost last message is found through STABLE") {
  MCluster c(3, with_nakack);
  for (int i = 0; i < 2; ++i)
    c.start_now(c.add(fmt::format("M{}", i)));
  c.world.run_for(1ms);
  auto& a = *c.nodes[0];
  auto& b = *c.nodes[1];
  c.send(a, Address(), "M0:0");
  REQUIRE(c.world.run_until([&] { return count_from(b, a) == 1; }, 1s));
  c.world.network().block("M0", "M1");
  c.send(a, Address(), "M0:1");  // lost, and nothing follows it
  c.world.run_for(10ms);
  c.world.network().heal();
  CHECK(c.world.run_until([&] { return count_from(b, a) == 2; }, 5s));
  check_fifo_exactly_once(b, a, 2, 3);
}

// --- GMS, FD_ALL, VERIFY_SUSPECT, MERGE ---------------------------------------------------------

namespace {

void start_cluster(MCluster& c, int n, Duration spread) {
  for (int i = 0; i < n; ++i)
    c.add(fmt::format("N{}", i));
  for (auto& np : c.nodes) {  // each node starts at a random time within `spread`
    MNode* p = np.get();
    p->rt->schedule(p->rt->random_between(0us, spread), [&c, p] { c.start(*p); });
  }
}

}  // namespace

TEST_CASE("GMS: members that start together agree on one view, views agree everywhere") {
  for (int s = 1; s <= seed_count(500); ++s) {
    MCluster c(static_cast<uint64_t>(s), full);
    c.world.network().defaults = sim::LinkFaults{0.05, 0.05, 100us, 3ms};
    start_cluster(c, 5, 1s);
    bool ok = c.world.run_until([&] { return c.live().size() == 5 && c.all_live_agree(); }, 30s);
    CHECK_MESSAGE(ok, "seed ", s, ": no common view of 5 after 30s");
    c.world.run_for(3s);  // stays stable: no spurious suspicion or merge
    CHECK_MESSAGE(c.all_live_agree(), "seed ", s);
    c.check_view_invariants();
    if (!ok) break;
  }
}

TEST_CASE("GMS: a member that finds nobody becomes a singleton after join_timeout, not before") {
  MembershipTimings t;  // join_timeout 300 ms
  for (int s = 1; s <= seed_count(20); ++s) {
    MCluster c(static_cast<uint64_t>(900 + s), full, t);
    MNode& a = c.add("A");
    Duration t0 = c.world.now();  // connect runs at once: the first join round starts here
    c.start_now(a);
    c.world.run_for(t.join_timeout - 10ms);
    CHECK_MESSAGE(a.views.empty(), "seed ", 900 + s);  // still looking for a cluster
    REQUIRE(c.world.run_until([&] { return !a.views.empty(); }, 5s));
    CHECK_MESSAGE(c.world.now() - t0 >= t.join_timeout, "seed ", 900 + s);
    CHECK_MESSAGE(c.world.now() - t0 < 3 * t.join_timeout, "seed ", 900 + s);
    REQUIRE(a.view()->size() == 1);
    CHECK(a.view()->coordinator() == a.addr);
    CHECK(a.ch->stack().find("GMS")->stat("singletons") == 1);
    // A second member then joins the singleton's cluster instead of founding its own.
    MNode& b = c.add("B");
    c.start_now(b);
    REQUIRE(c.world.run_until([&] { return c.all_live_agree() && a.view()->size() == 2; }, 5s));
    CHECK(b.ch->stack().find("GMS")->stat("singletons") == 0);
    CHECK(b.view()->coordinator() == a.addr);
  }
}

TEST_CASE("GMS: a graceful leave installs a view without the member before FD_ALL could") {
  for (int s = 1; s <= seed_count(300); ++s) {
    MCluster c(static_cast<uint64_t>(100 + s), full);
    start_cluster(c, 4, 200ms);
    REQUIRE(c.world.run_until([&] { return c.live().size() == 4 && c.all_live_agree(); }, 30s));
    // The coordinator leaves on odd seeds, another member on even seeds.
    MNode* target = nullptr;
    Address coord = c.nodes[0]->view()->coordinator();
    for (auto& n : c.nodes)
      if ((s % 2 == 1) == (n->addr == coord)) target = n.get();
    Duration t0 = c.world.now();
    c.leave(*target);
    bool ok = c.world.run_until(
        [&] { return c.all_live_agree() && c.live()[0]->view()->size() == 3; }, 5s);
    CHECK_MESSAGE(ok, "seed ", 100 + s);
    CHECK_MESSAGE(c.world.now() - t0 < 900ms, "seed ", 100 + s);  // below FD_ALL's timeout (1s)
    c.check_view_invariants();
  }
}

TEST_CASE("FD_ALL + VERIFY_SUSPECT: a crash is excluded within timeout + verification") {
  MembershipTimings t;
  // Detection: silent for fd_timeout, seen at the next check, verified for verify_timeout; then
  // one view installation (a few network delays).
  Duration bound = t.fd_timeout + t.fd_check + t.verify_timeout + 200ms;
  Duration worst{0};
  for (int s = 1; s <= seed_count(500); ++s) {
    MCluster c(static_cast<uint64_t>(200 + s), full, t);
    start_cluster(c, 5, 200ms);
    REQUIRE(c.world.run_until([&] { return c.live().size() == 5 && c.all_live_agree(); }, 30s));
    c.world.run_for(c.world.rng()() % 1000 * 1ms);
    // Crash the coordinator on every third seed (a takeover), else another member.
    size_t victim = static_cast<size_t>(s % 5);
    if (s % 3 == 0)
      for (size_t i = 0; i < c.nodes.size(); ++i)
        if (c.nodes[i]->addr == c.nodes[0]->view()->coordinator()) victim = i;
    Address dead = c.nodes[victim]->addr;
    Duration t0 = c.world.now();
    c.crash(*c.nodes[victim]);
    bool ok = c.world.run_until(
        [&] { return c.all_live_agree() && c.live()[0]->view()->size() == 4; }, 10s);
    Duration took = c.world.now() - t0;
    worst = std::max(worst, took);
    CHECK_MESSAGE(ok, "seed ", 200 + s, ": no view of 4");
    CHECK_MESSAGE(took <= bound, "seed ", 200 + s, ": took ", took.count() / 1000000, "ms");
    CHECK_FALSE(c.live()[0]->view()->contains(dead));
    c.check_view_invariants();
  }
  MESSAGE("worst crash-to-view time ", worst.count() / 1000000, "ms (bound ",
          bound.count() / 1000000, "ms)");
}

TEST_CASE("MERGE: a partition yields two views, healing it yields one merged view") {
  for (int s = 1; s <= seed_count(500); ++s) {
    uint64_t seed = static_cast<uint64_t>(300 + s);
    MCluster c(seed, full);
    c.world.network().defaults = sim::LinkFaults{0.02, 0.02, 100us, 2ms};
    start_cluster(c, 5, 200ms);
    REQUIRE(c.world.run_until([&] { return c.live().size() == 5 && c.all_live_agree(); }, 30s));
    std::vector<MNode*> left{c.nodes[0].get(), c.nodes[1].get(), c.nodes[2].get()};
    std::vector<MNode*> right{c.nodes[3].get(), c.nodes[4].get()};
    c.world.network().partition({{"N0", "N1", "N2"}, {"N3", "N4"}});
    bool split =
        c.world.run_until([&] { return MCluster::agree(left) && MCluster::agree(right); }, 20s);
    CHECK_MESSAGE(split, "seed ", seed, ": no two views");
    c.world.network().heal();
    bool merged = c.world.run_until([&] { return c.all_live_agree(); }, 30s);
    CHECK_MESSAGE(merged, "seed ", seed, ": no merged view");
    int merge_views = 0;
    for (auto& n : c.nodes)
      merge_views += n->merge_views;
    CHECK_MESSAGE(merge_views >= 5, "seed ", seed);
    if (merge_views < 5)
      for (auto& n : c.nodes) {
        std::string vs;
        for (auto& v : n->views)
          vs += v.to_string() + " ";
        MESSAGE(n->name, " merge views ", n->merge_views, ": ", vs);
      }
    c.check_view_invariants();
    // Traffic still flows reliably in the merged view.
    c.send(*c.nodes[4], Address(), "after-merge");
    bool flowed = c.world.run_until(
        [&] {
          for (auto& n : c.nodes)
            if (count_from(*n, *c.nodes[4]) == 0) return false;
          return true;
        },
        10s);
    CHECK_MESSAGE(flowed, "seed ", seed, ": a multicast after the merge did not reach everybody");
    if (!flowed)
      for (auto& n : c.nodes)
        MESSAGE(n->name, " got ", count_from(*n, *c.nodes[4]), " view ", n->view()->to_string(),
                " delivered(N4)=", n->find<Nakack>()->delivered(c.nodes[4]->addr),
                " dups=", n->find<Nakack>()->stat("duplicates"),
                " skipped=", n->find<Nakack>()->stat("missing_skipped"),
                " xmit_reqs=", n->find<Nakack>()->stat("xmit_reqs_sent"));
  }
}

TEST_CASE("GMS: a crashed member restarts (new address) and joins again") {
  for (int s = 1; s <= seed_count(300); ++s) {
    MCluster c(static_cast<uint64_t>(400 + s), full);
    c.world.network().defaults = sim::LinkFaults{0.05, 0.05, 100us, 3ms};
    start_cluster(c, 5, 200ms);
    REQUIRE(c.world.run_until([&] { return c.live().size() == 5 && c.all_live_agree(); }, 30s));
    c.crash(*c.nodes[2]);
    REQUIRE(c.world.run_until([&] { return c.all_live_agree(); }, 10s));
    c.start_now(*c.nodes[2]);
    CHECK_MESSAGE(
        c.world.run_until([&] { return c.live().size() == 5 && c.all_live_agree(); }, 20s), "seed ",
        400 + s);
    c.check_view_invariants();
  }
}
