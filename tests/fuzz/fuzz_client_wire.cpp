// fuzz_client_wire: the remote client protocol (protocols/raft/client_wire.hpp), what a CLIENT
// port reads from any TCP peer and what a RemoteClient reads back. The first byte picks the
// decoder (request, response, status); the rest is the frame body. Whatever decodes must
// re-encode to a body that decodes to the same encoding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "protocols/raft/client_wire.hpp"

using namespace cohort;
using namespace cohort::raft;

namespace {

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "client wire: %s\n", what);
  std::abort();
}

template <typename Decode>
void round_trip(const Buffer& body, Decode decode) {
  auto v = decode(body);
  if (!v) return;
  Buffer once = wire::encode(*v);
  auto again = decode(once);
  if (!again) die("re-encoded body does not decode");
  if (!(wire::encode(*again) == once)) die("encoding not stable across decode/encode");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  Buffer body = Buffer::copy_of(std::span(data + 1, size - 1));  // exact size for ASan
  switch (data[0] % 3) {
    case 0:
      round_trip(body, [](const Buffer& b) { return wire::decode_request(b); });
      break;
    case 1:
      round_trip(body, [](const Buffer& b) { return wire::decode_response(b); });
      break;
    case 2:
      if (auto s = wire::decode_status(body)) {
        Buffer once = wire::encode_status(*s);
        auto again = wire::decode_status(once);
        if (!again) die("re-encoded status does not decode");
        if (!(wire::encode_status(*again) == once)) die("status encoding not stable");
      }
      break;
  }
  return 0;
}
