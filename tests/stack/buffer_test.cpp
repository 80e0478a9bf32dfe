// Buffer: shared, immutable bytes; slices share storage, copy_of copies, equality is by content.
#include <doctest/doctest.h>

#include <vector>

#include "stack/buffer.hpp"

using cohort::Buffer;

TEST_CASE("buffer: taking a vector moves its bytes in, without a copy") {
  std::vector<uint8_t> v{1, 2, 3, 4};
  const uint8_t* p = v.data();
  Buffer b(std::move(v));
  CHECK(b.data() == p);
  CHECK(b.size() == 4);
  CHECK_FALSE(b.empty());
  CHECK(b.use_count() == 1);
  CHECK(b.storage() != nullptr);
}

TEST_CASE("buffer: copies and slices share storage") {
  Buffer b = Buffer::copy_of("hello world");
  Buffer copy = b;
  CHECK(copy.storage() == b.storage());
  CHECK(copy.data() == b.data());
  CHECK(b.use_count() == 2);

  Buffer world = b.slice(6, 5);
  CHECK(world.storage() == b.storage());
  CHECK(world.data() == b.data() + 6);
  CHECK(world.view() == "world");
  CHECK(b.use_count() == 3);

  Buffer orld = world.slice(1, 4);  // a slice of a slice still shares the block
  CHECK(orld.storage() == b.storage());
  CHECK(orld.str() == "orld");

  Buffer empty = b.slice(11, 0);
  CHECK(empty.empty());
  CHECK(empty.storage() == b.storage());
  {
    Buffer extra = b;
    CHECK(b.use_count() == 6);
  }
  CHECK(b.use_count() == 5);
}

TEST_CASE("buffer: the bytes outlive the Buffer they came from") {
  Buffer tail;
  {
    Buffer b = Buffer::copy_of("abcdef");
    tail = b.slice(3, 3);
  }
  CHECK(tail.use_count() == 1);
  CHECK(tail.str() == "def");
}

TEST_CASE("buffer: copy_of copies into a new block") {
  std::vector<uint8_t> v{9, 8, 7};
  Buffer b = Buffer::copy_of(std::span<const uint8_t>(v));
  CHECK(b.data() != v.data());
  CHECK(b.size() == 3);
  Buffer again = Buffer::copy_of(b.span());
  CHECK(again.storage() != b.storage());
  CHECK(again == b);
  v[0] = 0;
  CHECK(b.data()[0] == 9);
}

TEST_CASE("buffer: equality compares bytes, not identity") {
  CHECK(Buffer() == Buffer());
  CHECK(Buffer() == Buffer::copy_of(""));
  CHECK(Buffer::copy_of("abc") == Buffer::copy_of("abc"));
  CHECK_FALSE(Buffer::copy_of("abc") == Buffer::copy_of("abd"));
  CHECK_FALSE(Buffer::copy_of("abc") == Buffer::copy_of("ab"));
  Buffer b = Buffer::copy_of("xabcx");
  CHECK(b.slice(1, 3) == Buffer::copy_of("abc"));
  CHECK(b.slice(0, 0) == Buffer());
}

TEST_CASE("buffer: a default Buffer is empty and owns nothing") {
  Buffer b;
  CHECK(b.empty());
  CHECK(b.size() == 0);
  CHECK(b.use_count() == 0);
  CHECK(b.storage() == nullptr);
  CHECK(b.view().empty());
  CHECK(b.span().empty());
}
