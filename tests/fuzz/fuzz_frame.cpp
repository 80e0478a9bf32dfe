// fuzz_frame: decode_frame() over arbitrary bytes, with the header decoder of every protocol the
// tools know registered (built-in protocols, discovery, SYM_ENCRYPT, TCP, the Raft protocols), so
// every header codec is fuzzed through the frame. A frame that decodes must re-encode to a frame
// that decodes again to the same encoding (the codecs agree with themselves).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "discovery/register.hpp"
#include "protocols/builtin.hpp"
#include "stack/frame.hpp"
#include "stack/protocol_registry.hpp"

using namespace cohort;

namespace {

bool setup() {
  register_builtin_protocols();
  register_discovery_protocols();
  // Constructing a protocol registers its header decoder; nothing is started.
  for (const auto& name : ProtocolRegistry::instance().names())
    ProtocolRegistry::instance().create(name);
  return true;
}

Buffer encode(const DecodedFrame& f) {
  codec::Writer w;
  encode_frame(w, f.cluster, f.batch.src, f.batch.dest, f.batch.messages);
  return w.take_buffer();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool ready = setup();
  (void)ready;
  // An exact-size copy, so ASan sees any read past the end.
  Buffer frame = Buffer::copy_of(std::span(data, size));
  std::string error;
  auto decoded = decode_frame(frame, error);
  if (!decoded) return 0;
  Buffer once = encode(*decoded);
  auto again = decode_frame(once, error);
  if (!again) {
    std::fprintf(stderr, "re-encoded frame does not decode: %s\n", error.c_str());
    std::abort();
  }
  if (!(encode(*again) == once)) {
    std::fprintf(stderr, "frame encoding is not stable across decode/encode\n");
    std::abort();
  }
  return 0;
}
