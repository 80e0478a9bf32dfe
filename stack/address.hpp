#pragma once
// Address: a member's logical id — a random 128-bit UUID plus a human-readable logical name.
// Transports map addresses to their own physical addresses; nothing above them knows which.
#include <compare>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "stack/codec.hpp"

namespace cohort {

class Address {
 public:
  Address() = default;
  Address(uint64_t hi, uint64_t lo, std::string name) : hi_(hi), lo_(lo), name_(std::move(name)) {}
  /// A fresh address; randomness comes from the caller (the runtime's PRNG) so runs replay.
  static Address random(std::mt19937_64& rng, std::string name) {
    uint64_t hi = rng(), lo = rng();
    if (hi == 0 && lo == 0) lo = 1;
    return Address(hi, lo, std::move(name));
  }

  bool is_null() const { return hi_ == 0 && lo_ == 0; }
  explicit operator bool() const { return !is_null(); }
  uint64_t hi() const { return hi_; }
  uint64_t lo() const { return lo_; }
  const std::string& name() const { return name_; }
  /// The logical name if set, else a short form of the UUID.
  std::string to_string() const;
  std::string uuid_string() const;

  // Identity is the UUID only: a restarted member with the same name is a new incarnation.
  friend bool operator==(const Address& a, const Address& b) {
    return a.hi_ == b.hi_ && a.lo_ == b.lo_;
  }
  friend std::strong_ordering operator<=>(const Address& a, const Address& b) {
    if (auto c = a.hi_ <=> b.hi_; c != 0) return c;
    return a.lo_ <=> b.lo_;
  }

  void encode(codec::Writer& w) const {
    w.u64(hi_);
    w.u64(lo_);
    w.str(name_);
  }
  static Address decode(codec::Reader& r) {
    Address a;
    a.hi_ = r.u64();
    a.lo_ = r.u64();
    auto n = r.bytes_view();
    if (n.size() > 255) r.fail("address name too long");
    a.name_.assign(reinterpret_cast<const char*>(n.data()), n.size());
    return a;
  }

 private:
  uint64_t hi_ = 0, lo_ = 0;
  std::string name_;
};

}  // namespace cohort

template <>
struct std::hash<cohort::Address> {
  size_t operator()(const cohort::Address& a) const noexcept {
    return static_cast<size_t>(a.hi() ^ (a.lo() * 0x9E3779B97F4A7C15ull));
  }
};
