// Session envelopes: round trips of every kind, and every malformed input (truncations,
// trailing bytes, unknown kinds, fields that do not belong to the kind) rejected cleanly.
#include <doctest/doctest.h>

#include "blocks/client_session.hpp"
#include "blocks/session_envelope.hpp"
#include "blocks_test_util.hpp"
#include "stack/codec.hpp"

using namespace cohort;

namespace {

Buffer raw_envelope(uint8_t kind, uint64_t session, uint64_t seq, uint64_t acked,
                    std::string_view payload) {
  codec::Writer w;
  w.u8(kind);
  w.varint(session);
  w.varint(seq);
  w.varint(acked);
  w.str(payload);
  return w.take_buffer();
}

}  // namespace

TEST_CASE("envelope: every kind round-trips") {
  const Envelope all[] = {
      Envelope::open_session("member-A"),
      Envelope::keep_alive(7, 3),
      Envelope::command(7, 4, 3, Buffer::copy_of("payload")),
      Envelope::sessionless(Buffer::copy_of("x")),
      Envelope::close_session(7),
  };
  for (const auto& e : all) {
    std::string error;
    auto d = decode_envelope(encode(e), &error);
    REQUIRE_MESSAGE(d.has_value(), error);
    CHECK(*d == e);
  }
}

TEST_CASE("envelope: every truncation and trailing garbage is rejected") {
  const Buffer full = encode(Envelope::command(123456, 99, 98, Buffer::copy_of("some payload")));
  for (const auto& prefix : test::strict_prefixes(full))
    CHECK_FALSE(decode_envelope(prefix).has_value());
  std::vector<uint8_t> longer(full.data(), full.data() + full.size());
  longer.push_back(0);
  std::string error;
  CHECK_FALSE(decode_envelope(Buffer(std::move(longer)), &error).has_value());
  CHECK(error == "trailing bytes after envelope");
}

TEST_CASE("envelope: kinds and fields are validated") {
  std::string error;
  CHECK_FALSE(decode_envelope(raw_envelope(0, 1, 1, 0, ""), &error));
  CHECK(error == "unknown envelope kind");
  CHECK_FALSE(decode_envelope(raw_envelope(9, 1, 1, 0, "")));
  CHECK_FALSE(decode_envelope(raw_envelope(1, 5, 0, 0, "owner")));        // open with a session
  CHECK_FALSE(decode_envelope(raw_envelope(2, 0, 0, 0, "")));             // keep_alive, no session
  CHECK_FALSE(decode_envelope(raw_envelope(2, 5, 1, 0, "")));             // keep_alive with seq
  CHECK_FALSE(decode_envelope(raw_envelope(3, 5, 0, 0, "cmd"), &error));  // seq 0 in a session
  CHECK(error == "session command with sequence 0");
  CHECK_FALSE(decode_envelope(raw_envelope(3, 0, 4, 0, "cmd")));  // seq without session
  CHECK_FALSE(decode_envelope(raw_envelope(4, 5, 0, 0, "x")));    // close with payload
  CHECK_FALSE(decode_envelope(raw_envelope(1, 0, 0, 0, std::string(max_owner_bytes + 1, 'o'))));
  CHECK(decode_envelope(raw_envelope(1, 0, 0, 0, std::string(max_owner_bytes, 'o'))));
  CHECK_FALSE(decode_envelope(Buffer{}));
  // A length prefix far beyond the input.
  codec::Writer w;
  w.u8(3);
  w.varint(1);
  w.varint(1);
  w.varint(0);
  w.varint(uint64_t{1} << 40);
  CHECK_FALSE(decode_envelope(w.take_buffer()));
}

TEST_CASE("client session: sequences - acked_seq follows the lowest outstanding") {
  ClientSession s(42);
  CHECK(s.acked_seq() == 0);
  Envelope a = s.next(Buffer::copy_of("a"));
  Envelope b = s.next(Buffer::copy_of("b"));
  Envelope c = s.next(Buffer::copy_of("c"));
  CHECK(a.sequence == 1);
  CHECK(b.sequence == 2);
  CHECK(c.sequence == 3);
  CHECK(c.acked_seq == 0);
  s.completed(2);
  CHECK(s.acked_seq() == 0);  // 1 is still outstanding
  s.completed(1);
  CHECK(s.acked_seq() == 2);
  s.completed(3);
  CHECK(s.acked_seq() == 3);
  s.completed(3);  // repeated: ignored
  CHECK(s.outstanding() == 0);
  CHECK(s.keep_alive() == Envelope::keep_alive(42, 3));
  CHECK(s.next(Buffer{}).acked_seq == 3);
}
