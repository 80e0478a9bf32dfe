// FRAG: the pure split/reassemble core against a naive reference (random sizes, interleavings of
// several senders, duplicates, losses), its limits (expiry, byte cap, hostile headers), and the
// FRAG protocol over the simulated network, with and without loss.
#include <doctest/doctest.h>
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "protocols/frag.hpp"
#include "protocols/frag_core.hpp"
#include "stack/channel.hpp"
#include "stack/frame.hpp"
#include "stack/protocol_ids.hpp"
#include "stack/sim/sim_network.hpp"
#include "stack/sim/sim_transport.hpp"
#include "stack/sim/sim_world.hpp"

using namespace cohort;
using namespace cohort::frag;

namespace {

Buffer random_payload(std::mt19937_64& rng, size_t size) {
  std::vector<uint8_t> b(size);
  for (auto& x : b)
    x = static_cast<uint8_t>(rng());
  return Buffer(std::move(b));
}

struct Sent {
  Address sender;
  uint64_t id;
  Buffer payload;
};

struct Piece {
  Message msg;  // src = sender, payload = the fragment's bytes
  FragInfo info;
};

/// The fragments of one message, as FRAG sends them (fragment 0 carries a marker header).
std::vector<Piece> fragments_of(const Sent& s, size_t frag_size) {
  auto slices = split(s.payload, frag_size);
  std::vector<Piece> out;
  for (uint32_t i = 0; i < slices.size(); ++i) {
    Message m;
    m.src(s.sender).payload(slices[i]);
    if (i == 0) m.set(Message::OOB);  // "original flags": must come back on the whole message
    out.push_back({m, FragInfo{s.id, i, static_cast<uint32_t>(slices.size()), s.payload.size()}});
  }
  return out;
}

/// The naive reference: keep every fragment per (sender, id) in a map; a message is delivered
/// once, when its last missing fragment arrives. No limits.
struct NaiveReassembler {
  std::map<std::pair<Address, uint64_t>, std::map<uint32_t, Buffer>> parts;
  std::set<std::pair<Address, uint64_t>> done;
  std::optional<std::string> add(const Piece& p) {
    auto key = std::make_pair(p.msg.src(), p.info.id);
    if (done.contains(key)) return std::nullopt;
    auto& m = parts[key];
    m.emplace(p.info.index, p.msg.payload());
    if (m.size() < p.info.count) return std::nullopt;
    std::string whole;
    for (auto& [i, b] : m)
      whole += b.str();
    parts.erase(key);
    done.insert(key);
    return whole;
  }
};

}  // namespace

TEST_CASE("FRAG core: split makes zero-copy slices of at most frag_size bytes") {
  std::mt19937_64 rng(1);
  for (size_t size : {0u, 1u, 99u, 100u, 101u, 1000u, 4096u}) {
    Buffer p = random_payload(rng, size);
    auto s = split(p, 100);
    CHECK(s.size() == std::max<size_t>(1, (size + 99) / 100));
    std::string joined;
    for (auto& b : s) {
      CHECK(b.size() <= 100);
      if (!b.empty()) CHECK(b.storage() == p.storage());
      joined += b.str();
    }
    CHECK(joined == p.str());
  }
}

TEST_CASE("FRAG core: property — same deliveries as a naive reassembler") {
  // Random message sizes, 1-4 senders, fragments shuffled across senders and messages, random
  // duplicates and losses. Without limits in play, the core must deliver exactly what the naive
  // reference delivers, in the same order, with the first fragment's flags.
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    size_t frag_size = 1 + rng() % 200;
    int senders = 1 + static_cast<int>(rng() % 4);
    double loss = (seed % 3 == 0) ? 0.0 : 0.05 * static_cast<double>(rng() % 5);
    double dup = 0.1 * static_cast<double>(rng() % 4);
    std::vector<Address> addrs;
    for (int i = 0; i < senders; ++i)
      addrs.push_back(Address::random(rng, fmt::format("S{}", i)));
    std::vector<Sent> sent;
    std::vector<Piece> wire;
    for (int m = 0; m < 40; ++m) {
      Sent s{addrs[rng() % addrs.size()], 0, random_payload(rng, rng() % (frag_size * 6 + 1))};
      s.id = 1 + static_cast<uint64_t>(std::count_if(
                     sent.begin(), sent.end(), [&](auto& x) { return x.sender == s.sender; }));
      sent.push_back(s);
      for (auto& p : fragments_of(s, frag_size)) {
        std::uniform_real_distribution<double> u(0, 1);
        if (u(rng) < loss) continue;
        wire.push_back(p);
        if (u(rng) < dup) wire.push_back(p);
      }
    }
    std::shuffle(wire.begin(), wire.end(), rng);

    Reassembler core(ReassemblyLimits{});
    NaiveReassembler naive;
    std::vector<std::string> got, expected;
    for (auto& p : wire) {
      auto r = core.add(p.msg, p.info, Duration::zero());
      if (r.outcome == Reassembler::Outcome::complete) {
        got.push_back(r.message.payload().str());
        CHECK(r.message.has(Message::OOB));
        CHECK(r.message.src() == p.msg.src());
      }
      CHECK(r.evicted == 0);
      if (auto w = naive.add(p)) expected.push_back(*w);
    }
    CHECK(got == expected);
    if (loss == 0.0) CHECK(got.size() == sent.size());
    // Whatever is still buffered belongs to messages that lost a fragment.
    CHECK(core.partial_count() == naive.parts.size());
    // Every delivery is one of the sent payloads, and none twice.
    std::multiset<std::string> originals;
    for (auto& s : sent)
      originals.insert(s.payload.str());
    for (auto& g : got) {
      auto it = originals.find(g);
      REQUIRE(it != originals.end());
      originals.erase(it);
    }
  }
}

TEST_CASE("FRAG core: partial messages expire after max_time, completed ids are forgotten too") {
  ReassemblyLimits limits;
  limits.max_time = 10s;
  Reassembler core(limits);
  std::mt19937_64 rng(7);
  Sent s{Address::random(rng, "A"), 1, random_payload(rng, 300)};
  auto pieces = fragments_of(s, 100);
  CHECK(core.add(pieces[0].msg, pieces[0].info, 0s).outcome == Reassembler::Outcome::incomplete);
  CHECK(core.buffered_bytes() == 100);
  CHECK(core.expire(10s) == 0);  // not older than max_time yet
  CHECK(core.expire(11s) == 1);
  CHECK(core.partial_count() == 0);
  CHECK(core.buffered_bytes() == 0);
  // The late fragments start a new partial message, which expires in turn.
  CHECK(core.add(pieces[1].msg, pieces[1].info, 12s).outcome == Reassembler::Outcome::incomplete);
  CHECK(core.expire(30s) == 1);

  // A completed message's late duplicate is ignored while remembered...
  Sent t{s.sender, 2, random_payload(rng, 150)};
  auto tp = fragments_of(t, 100);
  core.add(tp[0].msg, tp[0].info, 40s);
  CHECK(core.add(tp[1].msg, tp[1].info, 40s).outcome == Reassembler::Outcome::complete);
  CHECK(core.add(tp[1].msg, tp[1].info, 45s).outcome == Reassembler::Outcome::duplicate);
  CHECK(core.partial_count() == 0);
  // ... and forgotten after max_time (bounded memory).
  core.expire(51s);
  CHECK(core.add(tp[1].msg, tp[1].info, 52s).outcome == Reassembler::Outcome::incomplete);
}

TEST_CASE("FRAG core: max_bytes evicts the oldest partial messages and refuses larger ones") {
  ReassemblyLimits limits;
  limits.max_bytes = 1000;
  Reassembler core(limits);
  std::mt19937_64 rng(8);
  Address a = Address::random(rng, "A");
  // Four partial messages of 600 bytes each, 300 buffered each.
  std::vector<std::vector<Piece>> msgs;
  size_t evicted = 0;
  for (uint64_t id = 1; id <= 4; ++id) {
    msgs.push_back(fragments_of(Sent{a, id, random_payload(rng, 600)}, 300));
    auto r = core.add(msgs.back()[0].msg, msgs.back()[0].info, Duration(id));
    evicted += r.evicted;
    CHECK(core.buffered_bytes() <= 1000);
  }
  CHECK(evicted == 1);  // 4 × 300 > 1000: the oldest went
  CHECK(core.partial_count() == 3);
  // The newest completes (its second half evicts another old one).
  auto r = core.add(msgs[3][1].msg, msgs[3][1].info, Duration(5));
  CHECK(r.outcome == Reassembler::Outcome::complete);
  CHECK(r.message.payload().size() == 600);
  CHECK(core.buffered_bytes() <= 1000);
  // A message bigger than the whole cap is refused outright.
  auto big = fragments_of(Sent{a, 9, random_payload(rng, 1001)}, 300);
  CHECK(core.add(big[0].msg, big[0].info, Duration(6)).outcome == Reassembler::Outcome::too_large);
}

TEST_CASE("FRAG core: property — the byte cap holds under random traffic, no wrong delivery") {
  for (uint64_t seed = 1; seed <= 100; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(seed);
    ReassemblyLimits limits;
    limits.max_bytes = 500 + rng() % 3000;
    limits.max_time = 50ms;
    Reassembler core(limits);
    std::vector<Address> addrs{Address::random(rng, "A"), Address::random(rng, "B")};
    std::map<std::pair<Address, uint64_t>, std::string> originals;
    std::vector<Piece> wire;
    for (uint64_t id = 1; id <= 60; ++id) {
      Sent s{addrs[id % 2], id, random_payload(rng, rng() % 1500)};
      originals[{s.sender, s.id}] = s.payload.str();
      for (auto& p : fragments_of(s, 1 + rng() % 300))
        if (rng() % 10 != 0) wire.push_back(p);  // 10% loss
    }
    std::shuffle(wire.begin(), wire.end(), rng);
    std::set<std::pair<Address, uint64_t>> delivered;
    Duration now{};
    for (auto& p : wire) {
      now += 1ms;
      if (rng() % 8 == 0) core.expire(now);
      auto r = core.add(p.msg, p.info, now);
      REQUIRE(core.buffered_bytes() <= limits.max_bytes);
      if (r.outcome == Reassembler::Outcome::complete) {
        auto key = std::make_pair(r.message.src(), p.info.id);
        CHECK(r.message.payload().str() == originals.at(key));
        CHECK(delivered.insert(key).second);
      }
    }
    core.expire(now + 1s);
    CHECK(core.partial_count() == 0);
    CHECK(core.buffered_bytes() == 0);
  }
}

TEST_CASE("FRAG core: hostile fragment info is invalid, never a crash or huge allocation") {
  Reassembler core(ReassemblyLimits{});
  std::mt19937_64 rng(9);
  Message m;
  m.src(Address::random(rng, "A")).payload(Buffer::copy_of(std::string_view("abcd")));
  using O = Reassembler::Outcome;
  CHECK(core.add(m, FragInfo{1, 0, 0, 4}, 0s).outcome == O::invalid);         // count 0
  CHECK(core.add(m, FragInfo{1, 5, 5, 4}, 0s).outcome == O::invalid);         // index >= count
  CHECK(core.add(m, FragInfo{1, 0, 2, 3}, 0s).outcome == O::invalid);         // more than total
  CHECK(core.add(m, FragInfo{1, 0, 1u << 30, 8}, 0s).outcome == O::invalid);  // too many
  CHECK(core.add(m, FragInfo{2, 0, 2, 8}, 0s).outcome == O::incomplete);
  CHECK(core.add(m, FragInfo{2, 1, 3, 8}, 0s).outcome == O::invalid);  // count changed
  // Fragments that complete the count but not the total: dropped, not delivered short.
  CHECK(core.add(m, FragInfo{3, 0, 2, 100}, 0s).outcome == O::incomplete);
  CHECK(core.add(m, FragInfo{3, 1, 2, 100}, 0s).outcome == O::invalid);
  CHECK(core.partial_count() == 1);  // only id 2
  // The header decoder refuses an index beyond the count.
  codec::Writer w;
  FragHeader(FragInfo{1, 0, 2, 10}).encode(w);
  codec::Reader ok(std::span<const uint8_t>(w.data()));
  CHECK(FragHeader::decode(ok) != nullptr);
  codec::Writer bad;
  bad.varint(1);
  bad.varint(3);
  bad.varint(2);
  bad.varint(10);
  codec::Reader br(std::span<const uint8_t>(bad.data()));
  CHECK(FragHeader::decode(br) == nullptr);
}

// --- FRAG over the simulated network -----------------------------------------------------------

namespace {

struct SimNode {
  std::shared_ptr<sim::SimRuntime> rt;
  std::unique_ptr<Channel> ch;
  Frag* frag = nullptr;
  std::vector<std::string> received;
  std::vector<uint16_t> flags;
};

void start_sim_node(sim::SimWorld& world, SimNode& n, const std::string& name,
                    const std::map<std::string, std::string>& attrs) {
  n.rt = world.add_node(name);
  auto stack = std::make_unique<ProtocolStack>(n.rt);
  stack->add(std::make_unique<sim::SimTransport>());
  auto f = std::make_unique<Frag>();
  for (auto& [k, v] : attrs)
    REQUIRE(f->set_attribute(k, v) == "");
  n.frag = f.get();
  stack->add(std::move(f));
  stack->init();
  n.ch = std::make_unique<Channel>(std::move(stack));
  n.ch->set_name(name);
  n.ch->on_message([&n](Message& m) {
    n.received.push_back(m.payload().str());
    n.flags.push_back(m.flags());
  });
  n.ch->connect("frag", nullptr);
}

void sim_send(SimNode& n, const Address& dest, Buffer payload, uint16_t flags = 0) {
  Message m(dest, std::move(payload));
  m.flags(flags);
  n.ch->stack().down(m);
}

}  // namespace

TEST_CASE("FRAG over SIM: large messages from several senders, interleaved, arrive whole") {
  sim::SimWorld world(21);
  world.network().defaults.delay_min = 10us;
  world.network().defaults.delay_max = 2ms;  // jitter: fragments of different messages interleave
  std::vector<SimNode> nodes(3);
  for (size_t i = 0; i < nodes.size(); ++i)
    start_sim_node(world, nodes[i], fmt::format("N{}", i), {{"frag_size", "1000"}});
  world.run_for(1ms);
  std::mt19937_64 rng(5);
  std::multiset<std::string> sent_to_group, sent_to_n2;
  for (int round = 0; round < 20; ++round) {
    for (size_t i = 0; i < 2; ++i) {
      Buffer p = random_payload(rng, 1 + rng() % 20000);
      sent_to_group.insert(p.str());
      sim_send(nodes[i], Address(), p, Message::OOB);
      Buffer q = random_payload(rng, 500 + rng() % 5000);
      sent_to_n2.insert(q.str());
      sim_send(nodes[i], nodes[2].ch->address(), q);
    }
  }
  world.run_for(1s);
  for (size_t i = 0; i < nodes.size(); ++i) {
    INFO("node " << i);
    std::multiset<std::string> expected = sent_to_group;
    if (i == 2) expected.insert(sent_to_n2.begin(), sent_to_n2.end());
    std::multiset<std::string> got(nodes[i].received.begin(), nodes[i].received.end());
    CHECK(got == expected);
    CHECK(nodes[i].frag->buffered_bytes() == 0);
    CHECK(nodes[i].frag->stat("invalid") == 0);
  }
  CHECK(nodes[0].frag->stat("fragmented") > 0);
  CHECK(nodes[2].frag->stat("reassembled") > 0);
}

TEST_CASE("FRAG over SIM: with loss, incomplete messages expire and memory stays bounded") {
  sim::SimWorld world(22);
  world.network().defaults.drop = 0.05;
  world.network().defaults.duplicate = 0.05;
  std::vector<SimNode> nodes(2);
  for (size_t i = 0; i < nodes.size(); ++i)
    start_sim_node(
        world, nodes[i], fmt::format("N{}", i),
        {{"frag_size", "500"}, {"max_reassembly_time", "200ms"}, {"max_reassembly_bytes", "20KB"}});
  world.run_for(1ms);
  std::mt19937_64 rng(6);
  std::set<std::string> sent;
  for (int i = 0; i < 200; ++i) {
    Buffer p = random_payload(rng, 600 + rng() % 6000);
    sent.insert(p.str());
    sim_send(nodes[0], nodes[1].ch->address(), p);
    world.run_for(1ms);
    CHECK(nodes[1].frag->buffered_bytes() <= 20 * 1024);
  }
  world.run_for(1s);
  auto& r = nodes[1];
  // Every delivered message is one that was sent, delivered once; some were lost.
  std::set<std::string> got;
  for (auto& s : r.received) {
    CHECK(sent.contains(s));
    CHECK(got.insert(s).second);
  }
  CHECK(got.size() < sent.size());
  CHECK(got.size() > sent.size() / 3);
  CHECK(r.frag->stat("expired") + r.frag->stat("evicted") > 0);
  CHECK(r.frag->stat("duplicates") > 0);
  CHECK(r.frag->buffered_bytes() == 0);  // everything partial has expired
  CHECK(r.frag->partial_messages() == 0);
}

TEST_CASE("FRAG: small messages pass untouched, configuration errors") {
  sim::SimWorld world(23);
  std::vector<SimNode> nodes(2);
  for (size_t i = 0; i < nodes.size(); ++i)
    start_sim_node(world, nodes[i], fmt::format("N{}", i), {{"frag_size", "100"}});
  world.run_for(1ms);
  sim_send(nodes[0], nodes[1].ch->address(), Buffer::copy_of(std::string(100, 'x')));
  world.run_for(10ms);
  CHECK(nodes[1].received == std::vector<std::string>{std::string(100, 'x')});
  CHECK(nodes[0].frag->stat("fragmented") == 0);

  auto stack = std::make_unique<ProtocolStack>(world.add_node("X"));
  stack->add(std::make_unique<sim::SimTransport>());
  auto fp = std::make_unique<Frag>();
  REQUIRE(fp->set_attribute("max_reassembly_bytes", "10") == "");
  stack->add(std::move(fp));
  CHECK_THROWS_WITH_AS(stack->init(), "max_reassembly_bytes: must be at least frag_size",
                       std::invalid_argument);
}
