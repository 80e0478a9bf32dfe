#pragma once
// Codec helpers for the hand-written wire format (DESIGN.md §4): little-endian fixed ints,
// LEB128 varints, length-prefixed strings and bytes. The Reader is bounded: every read checks
// what remains and a failed read latches an error instead of over-reading, so decoders can read
// a whole header and check ok() once at the end.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "stack/buffer.hpp"

namespace cohort::codec {

/// Appends encoded values to a growable byte vector.
class Writer {
 public:
  Writer() = default;
  explicit Writer(size_t reserve) { out_.reserve(reserve); }

  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) { put_le(v, 2); }
  void u32(uint32_t v) { put_le(v, 4); }
  void u64(uint64_t v) { put_le(v, 8); }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v) | 0x80);
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
  }
  /// Zig-zag encoded signed varint.
  void svarint(int64_t v) {
    varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
  }
  void raw(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  /// varint length + bytes.
  void bytes(std::span<const uint8_t> b) {
    varint(b.size());
    raw(b);
  }
  void str(std::string_view s) {
    bytes(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

  size_t size() const { return out_.size(); }
  std::vector<uint8_t>& data() { return out_; }
  std::vector<uint8_t> take() { return std::move(out_); }
  Buffer take_buffer() { return Buffer(std::move(out_)); }
  /// Overwrites 4 bytes at pos (for back-patched lengths).
  void patch_u32(size_t pos, uint32_t v) {
    for (int i = 0; i < 4; ++i)
      out_[pos + i] = static_cast<uint8_t>(v >> (8 * i));
  }

 private:
  void put_le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i)
      out_.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  std::vector<uint8_t> out_;
};

/// Reads from a byte range; never reads past its end. After the first failure ok() is false,
/// error() says what failed, and every further read returns zero/empty.
class Reader {
 public:
  explicit Reader(std::span<const uint8_t> in) : p_(in.data()), end_(in.data() + in.size()) {}
  /// Reading from a Buffer lets bytes()/slice() return zero-copy sub-buffers of it.
  explicit Reader(const Buffer& in) : p_(in.data()), end_(in.data() + in.size()), buf_(&in) {}

  uint8_t u8() { return static_cast<uint8_t>(get_le(1, "u8")); }
  uint16_t u16() { return static_cast<uint16_t>(get_le(2, "u16")); }
  uint32_t u32() { return static_cast<uint32_t>(get_le(4, "u32")); }
  uint64_t u64() { return get_le(8, "u64"); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= end_) return fail("truncated varint"), 0;
      uint8_t b = *p_++;
      if (shift == 63 && b > 1) return fail("varint overflow"), 0;
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    return fail("varint too long"), 0;
  }
  int64_t svarint() {
    uint64_t u = varint();
    return static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
  }
  /// A varint that must not exceed `max` (lengths, counts): guards against hostile allocations.
  uint64_t varint_max(uint64_t max, const char* what) {
    uint64_t v = varint();
    if (v > max) return fail(what), 0;
    return v;
  }
  std::span<const uint8_t> raw(size_t n) {
    if (!ok_ || static_cast<size_t>(end_ - p_) < n)
      return fail("truncated bytes"), std::span<const uint8_t>{};
    auto s = std::span(p_, n);
    p_ += n;
    return s;
  }
  /// varint length + bytes, as a view into the input.
  std::span<const uint8_t> bytes_view() {
    return raw(varint_max(remaining(), "length beyond end"));
  }
  /// varint length + bytes, as a Buffer: zero-copy when reading from a Buffer.
  Buffer bytes() {
    auto v = bytes_view();
    return to_buffer(v);
  }
  std::string str() {
    auto v = bytes_view();
    return std::string(reinterpret_cast<const char*>(v.data()), v.size());
  }
  /// Zero-copy slice of the next n bytes when reading from a Buffer.
  Buffer slice(size_t n) { return to_buffer(raw(n)); }

  size_t remaining() const { return static_cast<size_t>(end_ - p_); }
  bool at_end() const { return p_ == end_; }
  bool ok() const { return ok_; }
  const char* error() const { return error_; }
  /// Marks the read as failed with a decoder-specific reason (e.g. "unknown message type").
  void fail(const char* why) {
    if (ok_) error_ = why;
    ok_ = false;
    p_ = end_;
  }

 private:
  uint64_t get_le(int n, const char* what) {
    if (!ok_ || end_ - p_ < n) return fail(what), 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += n;
    return v;
  }
  Buffer to_buffer(std::span<const uint8_t> v) const {
    if (buf_ && !v.empty())
      return buf_->slice(static_cast<size_t>(v.data() - buf_->data()), v.size());
    return Buffer::copy_of(v);
  }
  const uint8_t* p_;
  const uint8_t* end_;
  const Buffer* buf_ = nullptr;
  bool ok_ = true;
  const char* error_ = "";
};

}  // namespace cohort::codec
