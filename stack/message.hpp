#pragma once
// Message: destination (null = the whole group), source, flags, headers keyed by protocol id, and
// a reference-counted payload. Copying a message shares the payload and the headers; no payload
// byte is copied on the way down or up the stack.
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "stack/address.hpp"
#include "stack/buffer.hpp"
#include "stack/header.hpp"

namespace cohort {

class Message {
 public:
  enum Flag : uint16_t {
    OOB = 1 << 0,             ///< may be delivered out of order (no ordering protocol delays it)
    NO_RELIABILITY = 1 << 1,  ///< not retransmitted by UNICAST/NAKACK
    DONT_BUNDLE = 1 << 2,     ///< sent at once, not bundled with others
    NO_FC = 1 << 3,           ///< bypasses flow control
    INTERNAL = 1 << 4,        ///< a protocol's own message (never delivered to the application)
  };
  static constexpr size_t max_headers = 8;

  Message() = default;
  explicit Message(Address dest, Buffer payload = {})
      : dest_(std::move(dest)), payload_(std::move(payload)) {}
  // Copies and moves touch only the used header slots (slots at and beyond n_headers_ are always
  // empty): a message is copied once per receiver on the hot path, and the defaulted versions
  // copied all max_headers shared_ptrs.
  Message(const Message& o)
      : dest_(o.dest_),
        src_(o.src_),
        flags_(o.flags_),
        n_headers_(o.n_headers_),
        payload_(o.payload_) {
    for (size_t i = 0; i < n_headers_; ++i)
      headers_[i] = o.headers_[i];
  }
  Message(Message&& o) noexcept
      : dest_(std::move(o.dest_)),
        src_(std::move(o.src_)),
        flags_(o.flags_),
        n_headers_(o.n_headers_),
        payload_(std::move(o.payload_)) {
    for (size_t i = 0; i < n_headers_; ++i)
      headers_[i] = std::move(o.headers_[i]);
    o.n_headers_ = 0;
  }
  Message& operator=(const Message& o) {
    if (this != &o) *this = Message(o);
    return *this;
  }
  Message& operator=(Message&& o) noexcept {
    if (this == &o) return *this;
    dest_ = std::move(o.dest_);
    src_ = std::move(o.src_);
    flags_ = o.flags_;
    // Up to the larger count: o's empty slots clear any of ours beyond o.n_headers_.
    size_t n = n_headers_ > o.n_headers_ ? n_headers_ : o.n_headers_;
    for (size_t i = 0; i < n; ++i)
      headers_[i] = std::move(o.headers_[i]);
    n_headers_ = o.n_headers_;
    o.n_headers_ = 0;
    payload_ = std::move(o.payload_);
    return *this;
  }
  ~Message() = default;

  const Address& dest() const { return dest_; }
  Message& dest(Address a) {
    dest_ = std::move(a);
    return *this;
  }
  bool is_group() const { return dest_.is_null(); }
  const Address& src() const { return src_; }
  Message& src(Address a) {
    src_ = std::move(a);
    return *this;
  }

  uint16_t flags() const { return flags_; }
  bool has(Flag f) const { return (flags_ & f) != 0; }
  Message& set(Flag f) {
    flags_ |= f;
    return *this;
  }
  Message& clear(Flag f) {
    flags_ &= static_cast<uint16_t>(~f);
    return *this;
  }
  Message& flags(uint16_t f) {
    flags_ = f;
    return *this;
  }

  const Buffer& payload() const { return payload_; }
  Message& payload(Buffer b) {
    payload_ = std::move(b);
    return *this;
  }

  /// Attaches (or replaces) the header of protocol `id`.
  Message& put_header(uint16_t id, HeaderPtr h) {
    for (size_t i = 0; i < n_headers_; ++i)
      if (headers_[i].id == id) {
        headers_[i].header = std::move(h);
        return *this;
      }
    // A programmer error: always checked (assert() is compiled out in release builds, and the
    // write below would then overflow headers_).
    if (n_headers_ >= max_headers) {
      std::fprintf(stderr, "too many headers on one message (max %zu)\n", max_headers);
      std::abort();
    }
    headers_[n_headers_++] = {id, std::move(h)};
    return *this;
  }
  /// The header of protocol `id` cast to T, or nullptr.
  template <typename T>
  const T* header(uint16_t id) const {
    for (size_t i = 0; i < n_headers_; ++i)
      if (headers_[i].id == id) return static_cast<const T*>(headers_[i].header.get());
    return nullptr;
  }
  bool has_header(uint16_t id) const { return header<Header>(id) != nullptr; }
  void remove_header(uint16_t id) {
    for (size_t i = 0; i < n_headers_; ++i)
      if (headers_[i].id == id) {
        headers_[i] = std::move(headers_[--n_headers_]);
        headers_[n_headers_] = {};
        return;
      }
  }
  struct HeaderSlot {
    uint16_t id = 0;
    HeaderPtr header;
  };
  size_t header_count() const { return n_headers_; }
  const HeaderSlot& header_at(size_t i) const { return headers_[i]; }

 private:
  Address dest_, src_;
  uint16_t flags_ = 0;
  uint8_t n_headers_ = 0;
  std::array<HeaderSlot, max_headers> headers_{};
  Buffer payload_;
};

/// Messages received together (one datagram, one read): passed up as one unit so protocols can
/// amortise per-message work. Protocols may remove messages they consume.
struct MessageBatch {
  Address src;
  Address dest;  ///< null for a group batch
  std::vector<Message> messages;
  size_t size() const { return messages.size(); }
  bool empty() const { return messages.empty(); }
};

}  // namespace cohort
