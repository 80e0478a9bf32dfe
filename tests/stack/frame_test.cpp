// Frame codec: round trips of single messages and bundles, zero-copy payloads, and hostile
// input (every truncation, byte flips, unknown headers, trailing bytes, huge counts) rejected
// with an error, never a crash or an over-read (this suite also runs under ASan).
#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "stack/frame.hpp"
#include "stack/protocol_ids.hpp"

using namespace cohort;

namespace {

constexpr uint64_t rejected_seq = 1u << 30;

// A test header: a varint sequence number and a string; decode rejects seq == rejected_seq.
struct TestHeader : Header {
  TestHeader(uint64_t seq, std::string tag) : seq(seq), tag(std::move(tag)) {}
  void encode(codec::Writer& w) const override {
    w.varint(seq);
    w.str(tag);
  }
  static HeaderPtr decode(codec::Reader& r) {
    uint64_t seq = r.varint();
    std::string tag = r.str();
    if (!r.ok()) return nullptr;
    if (seq == rejected_seq) return nullptr;
    return std::make_shared<TestHeader>(seq, std::move(tag));
  }
  uint64_t seq;
  std::string tag;
};

const bool registered = [] {
  register_header<TestHeader>(protocol_id::test, "TEST");
  return true;
}();

const Address src_addr(0x1111, 0x2222, "A");
const Address dest_addr(0x3333, 0x4444, "B");

Message make_message(uint64_t seq, std::string payload, uint16_t flags = 0) {
  Message m(Address(), Buffer::copy_of(payload));
  m.flags(flags);
  m.put_header(protocol_id::test, std::make_shared<TestHeader>(seq, "t" + std::to_string(seq)));
  return m;
}

Buffer encode(std::string_view cluster, const Address& dest, const std::vector<Message>& msgs) {
  codec::Writer w;
  encode_frame(w, cluster, src_addr, dest, msgs);
  return w.take_buffer();
}

// The first n bytes in their own exact-size block, so ASan catches any over-read.
Buffer prefix(const Buffer& b, size_t n) {
  return Buffer::copy_of(b.span().first(n));
}

std::vector<Message> bundle() {
  std::vector<Message> msgs;
  msgs.push_back(make_message(1, "first", Message::OOB));
  msgs.push_back(make_message(2, std::string(300, 'x')));
  msgs.push_back(Message(Address(), Buffer()));  // no headers, empty payload
  msgs.push_back(make_message(4, "last", Message::DONT_BUNDLE | Message::INTERNAL));
  return msgs;
}

}  // namespace

TEST_CASE("frame: a single group message round trips") {
  REQUIRE(registered);
  Buffer frame = encode("cluster-1", Address(), {make_message(7, "hello", Message::OOB)});
  std::string error;
  auto f = decode_frame(frame, error);
  REQUIRE_MESSAGE(f, error);
  CHECK(f->cluster == "cluster-1");
  CHECK(f->batch.src == src_addr);
  CHECK(f->batch.src.name() == "A");
  CHECK(f->batch.dest.is_null());
  REQUIRE(f->batch.size() == 1);
  const Message& m = f->batch.messages[0];
  CHECK(m.payload().str() == "hello");
  CHECK(m.flags() == Message::OOB);
  CHECK(m.src() == src_addr);
  CHECK(m.is_group());
  auto* h = m.header<TestHeader>(protocol_id::test);
  REQUIRE(h);
  CHECK(h->seq == 7);
  CHECK(h->tag == "t7");
}

TEST_CASE("frame: a bundle to one member round trips with headers, flags and payloads") {
  auto msgs = bundle();
  Buffer frame = encode("c", dest_addr, msgs);
  std::string error;
  auto f = decode_frame(frame, error);
  REQUIRE_MESSAGE(f, error);
  CHECK(f->batch.dest == dest_addr);
  REQUIRE(f->batch.size() == msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    CAPTURE(i);
    const Message& got = f->batch.messages[i];
    CHECK(got.payload() == msgs[i].payload());
    CHECK(got.flags() == msgs[i].flags());
    CHECK(got.dest() == dest_addr);
    CHECK(got.src() == src_addr);
    CHECK(got.header_count() == msgs[i].header_count());
    if (msgs[i].header_count()) {
      CHECK(got.header<TestHeader>(protocol_id::test)->seq ==
            msgs[i].header<TestHeader>(protocol_id::test)->seq);
    }
  }
}

TEST_CASE("frame: decoded payloads are zero-copy slices of the frame buffer") {
  Buffer frame = encode("c", dest_addr, bundle());
  std::string error;
  auto f = decode_frame(frame, error);
  REQUIRE(f);
  for (auto& m : f->batch.messages) {
    if (m.payload().empty()) continue;
    CHECK(m.payload().storage() == frame.storage());
    CHECK(m.payload().data() >= frame.data());
    CHECK(m.payload().data() + m.payload().size() <= frame.data() + frame.size());
  }
}

TEST_CASE("frame: encoded_message_size is the per-message part of a frame") {
  auto msgs = bundle();
  Buffer one = encode("c", Address(), {msgs[0]});
  Buffer two = encode("c", Address(), {msgs[0], msgs[1]});
  CHECK(two.size() - one.size() == encoded_message_size(msgs[1]));
}

TEST_CASE("frame: every truncation of a valid frame is rejected with an error") {
  for (const Address& dest : {Address(), dest_addr}) {
    Buffer frame = encode("cluster", dest, bundle());
    for (size_t n = 0; n < frame.size(); ++n) {
      CAPTURE(n);
      std::string error;
      auto f = decode_frame(prefix(frame, n), error);
      CHECK_FALSE(f.has_value());
      CHECK_FALSE(error.empty());
    }
  }
}

TEST_CASE("frame: random byte flips never crash and errors always say why") {
  Buffer frame = encode("cluster", dest_addr, bundle());
  std::mt19937_64 rng(12345);
  int rejected = 0;
  // Each position flipped with several masks, then random multi-byte corruption.
  for (size_t pos = 0; pos < frame.size(); ++pos) {
    for (uint8_t mask : {0x01, 0x80, 0xff}) {
      std::vector<uint8_t> bytes(frame.data(), frame.data() + frame.size());
      bytes[pos] ^= mask;
      std::string error;
      auto f = decode_frame(Buffer(std::move(bytes)), error);
      if (!f) {
        ++rejected;
        CHECK_FALSE(error.empty());
      }
    }
  }
  for (int round = 0; round < 2000; ++round) {
    std::vector<uint8_t> bytes(frame.data(), frame.data() + frame.size());
    int flips = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < flips; ++i)
      bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
    bytes.resize(rng() % (bytes.size() + 1));
    std::string error;
    auto f = decode_frame(Buffer(std::move(bytes)), error);
    if (!f) CHECK_FALSE(error.empty());
  }
  CHECK(rejected > 0);
}

TEST_CASE("frame: bad magic, version and flags") {
  Buffer frame = encode("c", Address(), {make_message(1, "x")});
  auto with = [&](size_t pos, uint8_t value) {
    std::vector<uint8_t> b(frame.data(), frame.data() + frame.size());
    b[pos] = value;
    std::string error;
    CHECK_FALSE(decode_frame(Buffer(std::move(b)), error));
    return error;
  };
  CHECK(with(0, 0) == "bad magic");
  CHECK(with(2, 2) == "unsupported version 2");
  CHECK(with(3, 2) == "unknown frame flags");
  std::string error;
  CHECK_FALSE(decode_frame(Buffer(), error));
  CHECK(error == "u16");
}

namespace {
// Writes a frame header by hand, for hostile inputs the encoder would never produce.
codec::Writer frame_start(uint64_t count) {
  codec::Writer w;
  w.u16(frame_magic);
  w.u8(frame_version);
  w.u8(0);
  w.str("c");
  src_addr.encode(w);
  w.varint(count);
  return w;
}
std::string decode_error(codec::Writer& w) {
  std::string error;
  auto f = decode_frame(w.take_buffer(), error);
  CHECK_FALSE(f.has_value());
  return error;
}
}  // namespace

TEST_CASE("frame: unknown header id") {
  auto w = frame_start(1);
  w.varint(0);  // flags
  w.varint(1);  // one header
  w.u16(999);
  w.bytes(std::vector<uint8_t>{1, 2});
  w.bytes(std::vector<uint8_t>{});
  CHECK(decode_error(w) == "unknown header id 999");
  auto w2 = frame_start(1);
  w2.varint(0);
  w2.varint(1);
  w2.u16(0xffff);  // beyond the registry's table
  w2.bytes(std::vector<uint8_t>{});
  w2.bytes(std::vector<uint8_t>{});
  CHECK(decode_error(w2) == "unknown header id 65535");
}

TEST_CASE("frame: header decoders see exactly their bytes") {
  SUBCASE("a header with trailing bytes") {
    auto w = frame_start(1);
    w.varint(0);
    w.varint(1);
    w.u16(protocol_id::test);
    w.bytes(std::vector<uint8_t>{1, 0, 9});  // seq 1, tag "", then a stray byte
    w.bytes(std::vector<uint8_t>{});
    CHECK(decode_error(w) == "bad TEST header: trailing bytes");
  }
  SUBCASE("a header cut short") {
    auto w = frame_start(1);
    w.varint(0);
    w.varint(1);
    w.u16(protocol_id::test);
    w.bytes(std::vector<uint8_t>{1, 5, 'a'});  // tag claims 5 bytes, has 1
    w.bytes(std::vector<uint8_t>{});
    CHECK(decode_error(w) == "bad TEST header: length beyond end");
  }
  SUBCASE("a header its decoder rejects") {
    codec::Writer hw;
    TestHeader(rejected_seq, "").encode(hw);
    auto w = frame_start(1);
    w.varint(0);
    w.varint(1);
    w.u16(protocol_id::test);
    w.bytes(hw.data());
    w.bytes(std::vector<uint8_t>{});
    CHECK(decode_error(w) == "bad TEST header: rejected");
  }
  SUBCASE("the same header twice") {
    codec::Writer hw;
    TestHeader(1, "").encode(hw);
    auto w = frame_start(1);
    w.varint(0);
    w.varint(2);
    for (int i = 0; i < 2; ++i) {
      w.u16(protocol_id::test);
      w.bytes(hw.data());
    }
    w.bytes(std::vector<uint8_t>{});
    CHECK(decode_error(w) == "duplicate TEST header");
  }
}

TEST_CASE("frame: trailing bytes after the last message") {
  Buffer frame = encode("c", Address(), {make_message(1, "x")});
  std::vector<uint8_t> b(frame.data(), frame.data() + frame.size());
  b.push_back(0);
  std::string error;
  CHECK_FALSE(decode_frame(Buffer(std::move(b)), error));
  CHECK(error == "trailing bytes after frame");
}

TEST_CASE("frame: huge or empty counts and lengths are rejected before allocating") {
  SUBCASE("message count") {
    auto w = frame_start(UINT64_MAX);
    w.varint(0);
    w.varint(0);
    w.varint(0);
    CHECK(decode_error(w) == "message count beyond end");
  }
  SUBCASE("message count above the limit") {
    auto w = frame_start(3);
    for (int i = 0; i < 3; ++i) {
      w.varint(0);
      w.varint(0);
      w.varint(0);
    }
    std::string error;
    CHECK_FALSE(decode_frame(w.take_buffer(), error, FrameLimits{2}));
    CHECK(error == "message count beyond end");
  }
  SUBCASE("no messages") {
    auto w = frame_start(0);
    CHECK(decode_error(w) == "empty frame");
  }
  SUBCASE("header count") {
    auto w = frame_start(1);
    w.varint(0);
    w.varint(Message::max_headers + 1);
    CHECK(decode_error(w) == "too many headers");
  }
  SUBCASE("payload length") {
    auto w = frame_start(1);
    w.varint(0);
    w.varint(0);
    w.varint(1ull << 62);
    w.u8(1);
    w.u8(2);
    CHECK(decode_error(w) == "length beyond end");
  }
  SUBCASE("message flags") {
    auto w = frame_start(1);
    w.varint(0x10000);
    w.varint(0);
    w.varint(0);
    CHECK(decode_error(w) == "message flags out of range");
  }
  SUBCASE("cluster name") {
    codec::Writer w;
    w.u16(frame_magic);
    w.u8(frame_version);
    w.u8(0);
    w.str(std::string(2000, 'c'));
    src_addr.encode(w);
    w.varint(1);
    w.varint(0);
    w.varint(0);
    w.varint(0);
    CHECK(decode_error(w) == "cluster name too long");
  }
}

TEST_CASE("frame: many messages in one frame") {
  std::vector<Message> msgs;
  for (int i = 0; i < 1000; ++i)
    msgs.push_back(make_message(static_cast<uint64_t>(i), std::to_string(i)));
  Buffer frame = encode("c", Address(), msgs);
  std::string error;
  auto f = decode_frame(frame, error);
  REQUIRE_MESSAGE(f, error);
  REQUIRE(f->batch.size() == 1000);
  CHECK(f->batch.messages[999].payload().str() == "999");
  CHECK(f->batch.messages[999].header<TestHeader>(protocol_id::test)->seq == 999);
}
