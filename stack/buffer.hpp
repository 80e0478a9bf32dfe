#pragma once
// Buffer: an immutable, reference-counted byte range. Copying a Buffer or taking a slice of it
// shares the bytes; the payload of a Message travels the whole stack without being copied.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cohort {

class Buffer {
 public:
  Buffer() = default;
  /// Takes ownership of the bytes (no copy).
  explicit Buffer(std::vector<uint8_t>&& bytes)
      : owner_(std::make_shared<const std::vector<uint8_t>>(std::move(bytes))),
        data_(owner_->data()),
        size_(owner_->size()) {}
  /// Copies the bytes once, into a new shared block.
  static Buffer copy_of(std::span<const uint8_t> bytes) {
    return Buffer(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  }
  static Buffer copy_of(std::string_view s) {
    return copy_of(std::span(reinterpret_cast<const uint8_t*>(s.data()), s.size()));
  }

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> span() const { return {data_, size_}; }
  std::string_view view() const { return {reinterpret_cast<const char*>(data_), size_}; }
  std::string str() const { return std::string(view()); }

  /// A sub-range sharing the same storage. Precondition: offset + length <= size().
  Buffer slice(size_t offset, size_t length) const {
    Buffer b;
    b.owner_ = owner_;
    b.data_ = data_ + offset;
    b.size_ = length;
    return b;
  }
  /// How many Buffers share this storage (for zero-copy checks in tests and benchmarks).
  long use_count() const { return owner_.use_count(); }
  /// Identity of the underlying storage block.
  const void* storage() const { return owner_.get(); }

  friend bool operator==(const Buffer& a, const Buffer& b) {
    return a.size_ == b.size_ && (a.size_ == 0 || std::memcmp(a.data_, b.data_, a.size_) == 0);
  }

 private:
  std::shared_ptr<const std::vector<uint8_t>> owner_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace cohort
