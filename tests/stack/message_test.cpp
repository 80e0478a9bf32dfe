// Message: destination, flags, headers keyed by protocol id, shared payload.
#include <doctest/doctest.h>

#include <memory>
#include <string>

#include "stack/message.hpp"
#include "stack/protocol_ids.hpp"

using namespace cohort;

namespace {
struct NumHeader : Header {
  explicit NumHeader(uint64_t n) : n(n) {}
  void encode(codec::Writer& w) const override { w.varint(n); }
  std::string to_string() const override { return std::to_string(n); }
  uint64_t n;
};
}  // namespace

TEST_CASE("message: destination, source and flags") {
  Message group;
  CHECK(group.is_group());
  CHECK(group.payload().empty());
  Address b(2, 2, "B");
  Message m(b, Buffer::copy_of("x"));
  CHECK_FALSE(m.is_group());
  CHECK(m.dest() == b);
  m.src(Address(1, 1, "A")).set(Message::OOB).set(Message::DONT_BUNDLE);
  CHECK(m.src().name() == "A");
  CHECK(m.has(Message::OOB));
  CHECK(m.has(Message::DONT_BUNDLE));
  CHECK_FALSE(m.has(Message::NO_FC));
  m.clear(Message::OOB);
  CHECK_FALSE(m.has(Message::OOB));
  CHECK(m.flags() == Message::DONT_BUNDLE);
  m.flags(0xffff);
  CHECK(m.has(Message::INTERNAL));
  m.dest(Address());
  CHECK(m.is_group());
}

TEST_CASE("message: headers are put, replaced, found by id and removed") {
  Message m;
  CHECK(m.header_count() == 0);
  CHECK(m.header<NumHeader>(5) == nullptr);
  m.put_header(5, std::make_shared<NumHeader>(1));
  m.put_header(6, std::make_shared<NumHeader>(2));
  m.put_header(5, std::make_shared<NumHeader>(3));  // replaces
  CHECK(m.header_count() == 2);
  CHECK(m.header<NumHeader>(5)->n == 3);
  CHECK(m.header<NumHeader>(6)->n == 2);
  CHECK(m.has_header(6));
  m.remove_header(5);
  CHECK(m.header_count() == 1);
  CHECK_FALSE(m.has_header(5));
  CHECK(m.header<NumHeader>(6)->n == 2);
  m.remove_header(99);  // absent: no-op
  CHECK(m.header_count() == 1);
  for (uint16_t id = 10; id < 10 + Message::max_headers - 1; ++id)
    m.put_header(id, std::make_shared<NumHeader>(id));
  CHECK(m.header_count() == Message::max_headers);
  for (size_t i = 0; i < m.header_count(); ++i)
    CHECK(m.header_at(i).header != nullptr);
}

TEST_CASE("message: removing a header releases it") {
  auto h = std::make_shared<NumHeader>(1);
  std::weak_ptr<NumHeader> weak = h;
  Message m;
  m.put_header(1, std::move(h));
  m.put_header(2, std::make_shared<NumHeader>(2));
  m.remove_header(1);
  CHECK(weak.expired());
  CHECK(m.header<NumHeader>(2)->n == 2);
}

TEST_CASE("message: copies share the payload bytes and the headers") {
  Message m(Address(), Buffer::copy_of("payload"));
  m.put_header(protocol_id::test, std::make_shared<NumHeader>(9));
  Message copy = m;
  CHECK(copy.payload().storage() == m.payload().storage());
  CHECK(copy.payload().data() == m.payload().data());
  CHECK(copy.header<NumHeader>(protocol_id::test) == m.header<NumHeader>(protocol_id::test));
  copy.remove_header(protocol_id::test);  // the copy's header set is its own
  CHECK(m.has_header(protocol_id::test));
}

TEST_CASE("message batch: size and emptiness") {
  MessageBatch b;
  CHECK(b.empty());
  b.messages.emplace_back();
  CHECK(b.size() == 1);
}

TEST_CASE("message: copy and move keep exactly the used headers") {
  Message a(Address(1, 1, "A"), Buffer::copy_of("p"));
  a.put_header(1, std::make_shared<NumHeader>(1));
  a.put_header(2, std::make_shared<NumHeader>(2));
  a.remove_header(1);
  Message copy(a);
  CHECK(copy.header_count() == 1);
  CHECK(copy.header<NumHeader>(2)->n == 2);
  CHECK_FALSE(copy.has_header(1));

  Message many;
  for (uint16_t id = 10; id < 10 + Message::max_headers; ++id)
    many.put_header(id, std::make_shared<NumHeader>(id));
  std::weak_ptr<const Header> last = many.header_at(Message::max_headers - 1).header;
  many = a;  // fewer headers: the surplus slots are released
  CHECK(many.header_count() == 1);
  CHECK(last.expired());
  CHECK(many.header<NumHeader>(2)->n == 2);
  CHECK(many.dest() == a.dest());

  Message moved(std::move(copy));
  CHECK(moved.header_count() == 1);
  CHECK(copy.header_count() == 0);  // NOLINT(bugprone-use-after-move): moved-from is empty
  Message target;
  target.put_header(5, std::make_shared<NumHeader>(5));
  target.put_header(6, std::make_shared<NumHeader>(6));
  target = std::move(moved);
  CHECK(target.header_count() == 1);
  CHECK(target.header<NumHeader>(2)->n == 2);
  CHECK_FALSE(target.has_header(5));
  CHECK_FALSE(target.has_header(6));
  CHECK(target.payload().str() == "p");
  target = target;  // self-assignment keeps everything
  CHECK(target.header_count() == 1);
}
