// Message and configuration codecs: round trips, every truncation and corruption rejected.
#include <doctest/doctest.h>

#include <random>

#include "protocols/raft/core/config.hpp"
#include "protocols/raft/core/messages.hpp"
#include "stack/codec.hpp"

using namespace cohort;
using namespace cohort::raft;

namespace {
std::vector<Message> samples() {
  std::vector<Message> v;
  v.push_back({"A", "B", VoteRequest{7, 100, 6, true, false}});
  v.push_back({"A", "B", VoteRequest{8, 0, 0, false, true}});
  v.push_back({"B", "A", VoteResponse{7, true, true}});
  v.push_back({"B", "A", VoteResponse{9, false, false}});
  AppendRequest ae{5, 10, 4, 9, {}};
  for (Index i = 11; i <= 14; ++i) {
    ae.entries.push_back(Entry{5, i, i == 12 ? EntryType::config : EntryType::command,
                               Buffer::copy_of("payload-" + std::to_string(i))});
  }
  ae.entries.push_back(Entry{5, 15, EntryType::noop, Buffer()});
  v.push_back({"leader", "follower", ae});
  v.push_back({"leader", "follower", AppendRequest{5, 10, 4, 9, {}}});  // heartbeat
  v.push_back({"f", "l", AppendResponse{5, true, 15, 0, 0, 0}});
  v.push_back({"f", "l", AppendResponse{5, false, 0, 10, 3, 7}});
  v.push_back({"l", "f",
               SnapshotRequest{6, 1000, 5, make_configuration({"A", "B"}).encode(), 4096, 10000,
                               Buffer::copy_of(std::string(100, 'x')), false}});
  v.push_back({"l", "f",
               SnapshotRequest{6, 1000, 5, Buffer(), 9900, 10000,
                               Buffer::copy_of(std::string(100, 'y')), true}});
  v.push_back({"f", "l", SnapshotResponse{6, 1000, 4196, false}});
  v.push_back({"f", "l", SnapshotResponse{6, 1000, 10000, true}});
  v.push_back({"A", "C", TimeoutNow{12}});
  v.push_back({"A", "C", TimeoutNow{UINT64_MAX}});
  return v;
}

bool same(const Message& a, const Message& b) {
  return a.from == b.from && a.to == b.to && a.body == b.body;
}
}  // namespace

TEST_CASE("codec: every message round-trips") {
  for (const auto& m : samples()) {
    Buffer enc = encode_message(m);
    Message out;
    std::string err;
    INFO(message_name(m.body));
    REQUIRE(decode_message(enc, out, &err));
    CHECK(same(m, out));
  }
}

TEST_CASE("codec: every truncation is rejected") {
  for (const auto& m : samples()) {
    Buffer enc = encode_message(m);
    for (size_t len = 0; len < enc.size(); ++len) {
      Message out;
      INFO(message_name(m.body) << " truncated to " << len);
      CHECK_FALSE(decode_message(enc.slice(0, len), out));
    }
    // A trailing byte is rejected too.
    auto longer = std::vector<uint8_t>(enc.data(), enc.data() + enc.size());
    longer.push_back(0);
    Message out;
    CHECK_FALSE(decode_message(Buffer(std::move(longer)), out));
  }
}

TEST_CASE("codec: random corruption never crashes and never over-allocates") {
  std::mt19937_64 rng(3);
  auto all = samples();
  for (int round = 0; round < 20000; ++round) {
    Buffer enc = encode_message(all[rng() % all.size()]);
    std::vector<uint8_t> b(enc.data(), enc.data() + enc.size());
    int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      b[rng() % b.size()] = static_cast<uint8_t>(rng());
    Message out;
    std::string err;
    if (decode_message(Buffer(std::move(b)), out, &err)) {
      // Whatever decoded must re-encode (it is a well-formed message).
      Message again;
      CHECK(decode_message(encode_message(out), again));
    }
  }
  // A huge entry count in a tiny frame is refused before allocating.
  codec::Writer w;
  w.u8(1);
  w.u8(2);
  w.str("a");
  w.str("b");
  for (int i = 0; i < 4; ++i)
    w.varint(1);
  w.varint(UINT64_MAX / 2);
  Message out;
  std::string err;
  CHECK_FALSE(decode_message(w.take_buffer(), out, &err));
  CHECK(!err.empty());
}

TEST_CASE("codec: unknown type, version and entry type are rejected") {
  Buffer enc = encode_message({"A", "B", TimeoutNow{1}});
  std::vector<uint8_t> b(enc.data(), enc.data() + enc.size());
  Message out;
  auto bad = b;
  bad[0] = 9;  // version
  CHECK_FALSE(decode_message(Buffer(std::vector<uint8_t>(bad)), out));
  bad = b;
  bad[1] = 7;  // type
  CHECK_FALSE(decode_message(Buffer(std::vector<uint8_t>(bad)), out));
}

TEST_CASE("config: round trip, truncations and invalid sets") {
  Configuration c = make_configuration({"C", "A", "B"}, {"D"});
  CHECK(c.voters == std::vector<std::string>{"A", "B", "C"});
  Buffer enc = c.encode();
  auto d = Configuration::decode(enc);
  REQUIRE(d);
  CHECK(*d == c);
  for (size_t len = 0; len < enc.size(); ++len) {
    CHECK_FALSE(Configuration::decode(enc.slice(0, len)));
  }
  Configuration dup{{"A", "A"}, {}};
  CHECK_FALSE(Configuration::decode(dup.encode()));
  Configuration overlap{{"A"}, {"A"}};
  CHECK_FALSE(Configuration::decode(overlap.encode()));
  Configuration empty_id{{""}, {}};
  CHECK_FALSE(Configuration::decode(empty_id.encode()));
  CHECK(Configuration::decode(Configuration{}.encode()));
  // Single-server changes.
  CHECK(c.with_learner("E").is_learner("E"));
  CHECK(c.promoted("D").is_voter("D"));
  CHECK_FALSE(c.without("A").contains("A"));
}
