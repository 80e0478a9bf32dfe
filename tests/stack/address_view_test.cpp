// Address and View: codec round trips, to_string, identity, ordering and hashing.
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <unordered_set>

#include "stack/address.hpp"
#include "stack/view.hpp"

using namespace cohort;

TEST_CASE("address: encode/decode round trip keeps the uuid and the name") {
  std::mt19937_64 rng(7);
  Address a = Address::random(rng, "node-A");
  Address unnamed = Address::random(rng, "");
  codec::Writer w;
  a.encode(w);
  unnamed.encode(w);
  Address().encode(w);
  auto bytes = w.take();
  codec::Reader r(bytes);
  Address a2 = Address::decode(r);
  Address u2 = Address::decode(r);
  Address n2 = Address::decode(r);
  REQUIRE(r.ok());
  CHECK(r.at_end());
  CHECK(a2 == a);
  CHECK(a2.hi() == a.hi());
  CHECK(a2.lo() == a.lo());
  CHECK(a2.name() == "node-A");
  CHECK(u2 == unnamed);
  CHECK(u2.name().empty());
  CHECK(n2.is_null());

  for (size_t n = 0; n < bytes.size(); ++n) {
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<long>(n));
    codec::Reader pr(part);
    Address::decode(pr);
    Address::decode(pr);
    Address::decode(pr);
    CHECK_FALSE(pr.ok());
  }
}

TEST_CASE("address: a name longer than 255 bytes is rejected by the decoder") {
  codec::Writer w;
  Address(1, 2, std::string(256, 'n')).encode(w);
  auto bytes = w.take();
  codec::Reader r(bytes);
  Address::decode(r);
  CHECK_FALSE(r.ok());
  CHECK(std::string(r.error()) == "address name too long");
}

TEST_CASE("address: to_string is the name, else a short uuid, else null") {
  CHECK(Address(1, 2, "A").to_string() == "A");
  Address u(0x0123456789abcdefull, 0xfedcba9876543210ull, "");
  CHECK(u.uuid_string() == "01234567-89ab-cdef-fedc-ba9876543210");
  CHECK(u.to_string() == "01234567");
  CHECK(Address().to_string() == "null");
  CHECK(Address().is_null());
  CHECK_FALSE(static_cast<bool>(Address()));
  CHECK(static_cast<bool>(u));
}

TEST_CASE("address: identity, ordering and hash use the uuid only") {
  Address a1(1, 5, "A"), a1_renamed(1, 5, "other"), b(1, 6, "B"), c(2, 0, "C");
  CHECK(a1 == a1_renamed);
  CHECK(a1 != b);
  CHECK(a1 < b);
  CHECK(b < c);  // hi first
  CHECK(c > a1);
  CHECK((a1 <=> a1_renamed) == 0);
  CHECK(std::hash<Address>{}(a1) == std::hash<Address>{}(a1_renamed));
  std::set<Address> ordered{c, b, a1, a1_renamed};
  CHECK(ordered.size() == 3);
  CHECK(*ordered.begin() == a1);
  std::unordered_set<Address> hashed{c, b, a1, a1_renamed};
  CHECK(hashed.size() == 3);
  CHECK(hashed.count(Address(2, 0, "")) == 1);
}

TEST_CASE("address: random addresses are never null and replay from the seed") {
  std::mt19937_64 r1(99), r2(99);
  for (int i = 0; i < 100; ++i) {
    Address a = Address::random(r1, "x"), b = Address::random(r2, "x");
    CHECK_FALSE(a.is_null());
    CHECK(a == b);
  }
}

TEST_CASE("view: to_string, coordinator, contains") {
  Address a(1, 1, "A"), b(2, 2, "B"), c(3, 3, "C");
  View v(ViewId{a, 7}, {a, b, c});
  CHECK(v.to_string() == "[A, B, C] id=7");
  CHECK(v.coordinator() == a);
  CHECK(v.size() == 3);
  CHECK(v.contains(b));
  CHECK_FALSE(v.contains(Address(4, 4, "D")));
  CHECK(View().empty());
  CHECK(View().to_string() == "[] id=0");
}

TEST_CASE("view: encode/decode round trip, and truncations fail") {
  Address a(1, 1, "A"), b(2, 2, "B"), c(3, 3, "");
  View v(ViewId{a, 42}, {a, b, c});
  codec::Writer w;
  v.encode(w);
  auto bytes = w.take();
  codec::Reader r(bytes);
  View v2 = View::decode(r);
  REQUIRE(r.ok());
  CHECK(r.at_end());
  CHECK(v2.id() == v.id());
  CHECK(v2.members() == v.members());
  CHECK(v2.members()[1].name() == "B");
  CHECK(v2.to_string() == v.to_string());

  for (size_t n = 0; n < bytes.size(); ++n) {
    CAPTURE(n);
    std::vector<uint8_t> part(bytes.begin(), bytes.begin() + static_cast<long>(n));
    codec::Reader pr(part);
    View::decode(pr);
    CHECK_FALSE(pr.ok());
  }
}

TEST_CASE("view: a hostile member count is rejected before allocating") {
  codec::Writer w;
  Address(1, 1, "A").encode(w);
  w.varint(1);
  w.varint(UINT64_MAX / 2);  // member count
  Address(1, 1, "A").encode(w);
  auto bytes = w.take();
  codec::Reader r(bytes);
  View v = View::decode(r);
  CHECK_FALSE(r.ok());
  CHECK(std::string(r.error()) == "view member count beyond end");
  CHECK(v.empty());
}
