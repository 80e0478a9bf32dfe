// fuzz_block_codecs: the replicated blocks' codecs, which every member applies to whatever a
// client submitted (and clients apply to results): the session envelope, the counter, lock and
// map commands (the map's keys and values through the bounded Boost archive), the etcd v2
// commands, and the typed result decoders. The first byte picks the decoder; the rest is its
// input. Commands that decode must re-encode to bytes that decode to the same encoding.
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "blocks/block_status.hpp"
#include "blocks/counter_codec.hpp"
#include "blocks/lock_codec.hpp"
#include "blocks/map_codec.hpp"
#include "blocks/session_envelope.hpp"
#include "blocks/v2_codec.hpp"

using namespace cohort;

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "block codecs: %s\n", what);
  std::abort();
}

// decode(encode(decode(in))) re-encodes to the same bytes.
template <typename Decode, typename Encode>
void round_trip(const Buffer& in, Decode decode, Encode encode, const char* name) {
  auto v = decode(in);
  if (!v) return;
  Buffer once = encode(*v);
  auto again = decode(once);
  if (!again) die(name);
  if (!(encode(*again) == once)) die(name);
}

using StringMap = MapCodec<std::string, std::string>;
using NumberMap = MapCodec<int64_t, std::vector<int64_t>>;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Buffer in = Buffer::copy_of(std::span(data + 1, size - 1));  // exact size for ASan
  switch (data[0] % 16) {
    case 0:
      round_trip(
          in, [](const Buffer& b) { return decode_envelope(b); },
          [](const Envelope& e) { return encode(e); }, "envelope");
      break;
    case 1:
      round_trip(
          in, [](const Buffer& b) { return counter_codec::decode(b); },
          [](const CounterCommand& c) { return counter_codec::encode(c); }, "counter command");
      break;
    case 2:
      round_trip(
          in, [](const Buffer& b) { return lock_codec::decode(b); },
          [](const LockCommand& c) { return lock_codec::encode(c); }, "lock command");
      break;
    case 3:
      round_trip(
          in, [](const Buffer& b) { return lock_codec::decode_grant(b); },
          [](const LockGrant& g) { return lock_codec::encode_grant(g); }, "lock grant");
      break;
    case 4:
      round_trip(
          in, [](const Buffer& b) { return v2::decode_command(b); },
          [](const v2::Command& c) { return v2::encode(c); }, "v2 command");
      break;
    case 5:
      (void)StringMap::decode(in);
      break;
    case 6:
      (void)NumberMap::decode(in);
      break;
    case 7:
      (void)decode_session_id(in);
      (void)parse_result(in);
      break;
    case 8:
      (void)counter_codec::decode_value(in);
      (void)counter_codec::decode_cas(in);
      break;
    case 9:
      (void)counter_codec::decode_empty(in);
      (void)counter_codec::decode_bool(in);
      break;
    case 10:
      (void)lock_codec::decode_reply(in);
      (void)lock_codec::decode_unlock(in);
      break;
    case 11:
      (void)lock_codec::decode_info(in);
      break;
    case 12:
      (void)StringMap::decode_value(in);
      (void)NumberMap::decode_value(in);
      break;
    case 13:
      if (auto r = v2::decode_result(in)) {
        Buffer body = v2::encode(*r);
        if (!v2::decode_result(make_result(BlockStatus::ok, body))) die("v2 result");
      }
      break;
    case 14:
      if (auto batch = v2::decode_batch(in)) {
        Buffer once = v2::encode_batch(*batch);
        auto again = v2::decode_batch(once);
        if (!again || v2::encode_batch(*again) != once) die("v2 batch");
      }
      if (auto results = v2::decode_batch_results(in)) {
        Buffer again = make_result(BlockStatus::ok, v2::encode_batch_results(*results));
        if (!v2::decode_batch_results(again)) die("v2 batch results");
      }
      break;
    default:
      (void)decode_bool_result(in);
      (void)decode_empty_result(in);
      break;
  }
  return 0;
}
