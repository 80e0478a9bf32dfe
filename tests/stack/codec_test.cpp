// codec::Writer / codec::Reader: round trips of every width and varint edge values, and every
// truncation of a valid encoding fails cleanly without reading past the end.
#include <doctest/doctest.h>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "stack/codec.hpp"

using namespace cohort;
using codec::Reader;
using codec::Writer;

namespace {

// The bytes of a prefix in their own heap block, so that ASan flags any read past its end.
std::vector<uint8_t> prefix(const std::vector<uint8_t>& all, size_t n) {
  return std::vector<uint8_t>(all.begin(), all.begin() + static_cast<long>(n));
}

constexpr uint64_t varint_edges[] = {0,          1,
                                     127,        128,
                                     255,        16383,
                                     16384,      (1ull << 32) - 1,
                                     1ull << 32, (1ull << 63) - 1,
                                     1ull << 63, std::numeric_limits<uint64_t>::max()};

// A mixed encoding and the reads that decode it, checking values as they go.
void write_mixed(Writer& w) {
  w.u8(0xab);
  w.u16(0xbeef);
  w.u32(0xdeadbeef);
  w.u64(0x0123456789abcdefull);
  for (uint64_t v : varint_edges)
    w.varint(v);
  w.svarint(-1);
  w.svarint(std::numeric_limits<int64_t>::min());
  w.str("hello");
  w.bytes(std::vector<uint8_t>{1, 2, 3});
  w.str("");
}

void read_mixed(Reader& r, bool check) {
  auto expect = [&](uint64_t got, uint64_t want) {
    if (check) CHECK(got == want);
  };
  expect(r.u8(), 0xab);
  expect(r.u16(), 0xbeef);
  expect(r.u32(), 0xdeadbeef);
  expect(r.u64(), 0x0123456789abcdefull);
  for (uint64_t v : varint_edges)
    expect(r.varint(), v);
  expect(static_cast<uint64_t>(r.svarint()), static_cast<uint64_t>(int64_t{-1}));
  expect(static_cast<uint64_t>(r.svarint()),
         static_cast<uint64_t>(std::numeric_limits<int64_t>::min()));
  std::string s = r.str();
  if (check) CHECK(s == "hello");
  Buffer b = r.bytes();
  if (check) CHECK(b == Buffer(std::vector<uint8_t>{1, 2, 3}));
  std::string e = r.str();
  if (check) CHECK(e.empty());
}

}  // namespace

TEST_CASE("codec: fixed-width ints are little-endian and round trip") {
  Writer w;
  w.u8(0x01);
  w.u16(0x0203);
  w.u32(0x04050607);
  w.u64(0x08090a0b0c0d0e0full);
  CHECK(w.data() == std::vector<uint8_t>{0x01, 0x03, 0x02, 0x07, 0x06, 0x05, 0x04, 0x0f, 0x0e, 0x0d,
                                         0x0c, 0x0b, 0x0a, 0x09, 0x08});
  Reader r(w.data());
  CHECK(r.u8() == 0x01);
  CHECK(r.u16() == 0x0203);
  CHECK(r.u32() == 0x04050607);
  CHECK(r.u64() == 0x08090a0b0c0d0e0full);
  CHECK(r.ok());
  CHECK(r.at_end());

  Writer m;
  m.u8(0xff);
  m.u16(0xffff);
  m.u32(0xffffffff);
  m.u64(UINT64_MAX);
  Reader rm(m.data());
  CHECK(rm.u8() == 0xff);
  CHECK(rm.u16() == 0xffff);
  CHECK(rm.u32() == 0xffffffff);
  CHECK(rm.u64() == UINT64_MAX);
  CHECK(rm.ok());
}

TEST_CASE("codec: varint edge values round trip with the LEB128 length") {
  for (uint64_t v : varint_edges) {
    CAPTURE(v);
    Writer w;
    w.varint(v);
    size_t bits = 0;
    for (uint64_t x = v; x; x >>= 1)
      ++bits;
    size_t want_len = bits == 0 ? 1 : (bits + 6) / 7;
    CHECK(w.size() == want_len);
    Reader r(w.data());
    CHECK(r.varint() == v);
    CHECK(r.ok());
    CHECK(r.at_end());
  }
  Writer w;
  w.varint(127);
  w.varint(128);
  CHECK(w.data() == std::vector<uint8_t>{0x7f, 0x80, 0x01});
  Writer mx;
  mx.varint(UINT64_MAX);
  CHECK(mx.size() == 10);
  CHECK(mx.data().back() == 0x01);
}

TEST_CASE("codec: svarint zig-zags negatives into short encodings") {
  const int64_t values[] = {0,
                            -1,
                            1,
                            -64,
                            63,
                            -65,
                            64,
                            std::numeric_limits<int32_t>::min(),
                            std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::max()};
  for (int64_t v : values) {
    CAPTURE(v);
    Writer w;
    w.svarint(v);
    Reader r(w.data());
    CHECK(r.svarint() == v);
    CHECK(r.ok());
    CHECK(r.at_end());
  }
  Writer small;
  small.svarint(-1);
  small.svarint(-64);
  CHECK(small.size() == 2);  // both fit one byte
}

TEST_CASE("codec: strings and bytes round trip, bytes from a Buffer are zero-copy slices") {
  std::string big(1000, 'x');
  Writer w;
  w.str("");
  w.str("abc");
  w.str(big);
  w.bytes(std::vector<uint8_t>{0, 255, 7});
  Buffer buf = w.take_buffer();

  Reader r(buf);
  CHECK(r.str().empty());
  CHECK(r.str() == "abc");
  CHECK(r.str() == big);
  Buffer b = r.bytes();
  CHECK(r.ok());
  CHECK(r.at_end());
  CHECK(b == Buffer(std::vector<uint8_t>{0, 255, 7}));
  CHECK(b.storage() == buf.storage());
  CHECK(b.data() == buf.data() + buf.size() - 3);

  // From a plain span the bytes are copied into their own block.
  Reader rs(buf.span());
  rs.str();
  rs.str();
  rs.str();
  Buffer c = rs.bytes();
  CHECK(c == b);
  CHECK(c.storage() != buf.storage());

  // slice(n) is zero-copy too.
  Reader rz(buf);
  Buffer head = rz.slice(4);
  CHECK(head.storage() == buf.storage());
  CHECK(head.size() == 4);
  CHECK(rz.remaining() == buf.size() - 4);
}

TEST_CASE("codec: every truncation of a valid encoding fails cleanly") {
  Writer w;
  write_mixed(w);
  const std::vector<uint8_t> all = w.take();
  {
    Reader r(all);
    read_mixed(r, true);
    CHECK(r.ok());
    CHECK(r.at_end());
  }
  for (size_t n = 0; n < all.size(); ++n) {
    CAPTURE(n);
    auto part = prefix(all, n);
    Reader r(std::span<const uint8_t>(part.data(), part.size()));
    read_mixed(r, false);
    CHECK_FALSE(r.ok());
    CHECK(std::string(r.error()) != "");
    CHECK(r.remaining() == 0);
  }
}

TEST_CASE("codec: each read fails on its own truncations and returns zero") {
  std::vector<std::pair<const char*, std::function<void(Writer&)>>> writers = {
      {"u16", [](Writer& w) { w.u16(0x1234); }},
      {"u32", [](Writer& w) { w.u32(0x12345678); }},
      {"u64", [](Writer& w) { w.u64(UINT64_MAX); }},
      {"varint", [](Writer& w) { w.varint(UINT64_MAX); }},
      {"svarint", [](Writer& w) { w.svarint(std::numeric_limits<int64_t>::min()); }},
      {"str", [](Writer& w) { w.str("truncate me"); }},
  };
  for (auto& [name, write] : writers) {
    Writer w;
    write(w);
    auto all = w.take();
    for (size_t n = 0; n < all.size(); ++n) {
      CAPTURE(name);
      CAPTURE(n);
      auto part = prefix(all, n);
      Reader r(std::span<const uint8_t>(part.data(), part.size()));
      std::string_view which = name;
      if (which == "u16") CHECK(r.u16() == 0);
      if (which == "u32") CHECK(r.u32() == 0);
      if (which == "u64") CHECK(r.u64() == 0);
      if (which == "varint") CHECK(r.varint() == 0);
      if (which == "svarint") CHECK(r.svarint() == 0);
      if (which == "str") CHECK(r.str().empty());
      CHECK_FALSE(r.ok());
    }
  }
}

TEST_CASE("codec: a failed reader stays failed and keeps its first error") {
  std::vector<uint8_t> one{7};
  Reader r(one);
  CHECK(r.u16() == 0);
  CHECK_FALSE(r.ok());
  CHECK(std::string(r.error()) == "u16");
  CHECK(r.u8() == 0);  // the byte is still "there", but the reader has latched the failure
  CHECK(r.varint() == 0);
  CHECK(r.raw(0).empty());
  CHECK(std::string(r.error()) == "u16");
  r.fail("later");
  CHECK(std::string(r.error()) == "u16");
}

TEST_CASE("codec: varint overflow is rejected") {
  // 10 bytes whose last carries more than the one bit that fits in 64.
  std::vector<uint8_t> over(9, 0xff);
  over.push_back(0x02);
  Reader r(over);
  CHECK(r.varint() == 0);
  CHECK_FALSE(r.ok());
  CHECK(std::string(r.error()) == "varint overflow");

  // An endless continuation: 11 bytes with the high bit set.
  std::vector<uint8_t> endless(11, 0x80);
  Reader r2(endless);
  r2.varint();
  CHECK_FALSE(r2.ok());

  // Exactly UINT64_MAX is fine.
  std::vector<uint8_t> max(9, 0xff);
  max.push_back(0x01);
  Reader r3(max);
  CHECK(r3.varint() == UINT64_MAX);
  CHECK(r3.ok());
}

TEST_CASE("codec: varint_max bounds lengths and counts") {
  Writer w;
  w.varint(10);
  w.varint(11);
  auto bytes = w.take();
  Reader r(bytes);
  CHECK(r.varint_max(10, "too big") == 10);
  CHECK(r.ok());
  CHECK(r.varint_max(10, "too big") == 0);
  CHECK_FALSE(r.ok());
  CHECK(std::string(r.error()) == "too big");
}

TEST_CASE("codec: a length prefix beyond the end is rejected without allocating") {
  Writer w;
  w.varint(UINT64_MAX);  // claims 2^64-1 bytes follow
  w.u8(1);
  auto bytes = w.take();
  {
    Reader r(bytes);
    CHECK(r.str().empty());
    CHECK_FALSE(r.ok());
    CHECK(std::string(r.error()) == "length beyond end");
  }
  {
    Reader r(bytes);
    CHECK(r.bytes().empty());
    CHECK_FALSE(r.ok());
  }
  {
    Reader r(bytes);
    r.u8();
    r.u8();
    CHECK(r.raw(SIZE_MAX).empty());
    CHECK_FALSE(r.ok());
  }
}

TEST_CASE("codec: Writer back-patches a u32 and hands its bytes over") {
  Writer w(16);
  size_t pos = w.size();
  w.u32(0);
  w.str("x");
  w.patch_u32(pos, 0xa1b2c3d4);
  Reader r(w.data());
  CHECK(r.u32() == 0xa1b2c3d4);
  CHECK(r.str() == "x");
  const uint8_t* p = w.data().data();
  Buffer b = w.take_buffer();
  CHECK(b.data() == p);  // moved, not copied
  CHECK(b.size() == 6);
}
