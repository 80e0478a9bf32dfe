// fuzz_headers: every protocol header decoder directly (UNICAST, NAKACK, GMS, FD_ALL,
// VERIFY_SUSPECT, MERGE, FRAG, AUTH, SYM_ENCRYPT, the transports', discovery's, the Raft
// protocols', ...). The first byte is the header id (stack/protocol_ids.hpp; an id that is not
// registered picks one that is, by index), the rest is that
// header's bytes, so the fuzzer reaches each decoder without having to build a valid frame first
// (fuzz_frame covers the frame around them). A header that decodes (as the frame accepts it:
// decoder succeeded and consumed every byte) must re-encode to bytes that decode to the same
// encoding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "discovery/register.hpp"
#include "protocols/builtin.hpp"
#include "stack/header.hpp"
#include "stack/protocol_registry.hpp"

using namespace cohort;

namespace {

std::vector<uint16_t> registered_ids() {
  register_builtin_protocols();
  register_discovery_protocols();
  // Constructing a protocol registers its header decoder; nothing is started.
  for (const auto& name : ProtocolRegistry::instance().names())
    ProtocolRegistry::instance().create(name);
  std::vector<uint16_t> ids;
  for (uint16_t id = 0; id < 1024; ++id)
    if (HeaderRegistry::instance().decoder(id)) ids.push_back(id);
  return ids;
}

// Decodes exactly `bytes` as header `id`; nullptr unless the frame would accept it.
HeaderPtr decode(HeaderDecoder decoder, std::span<const uint8_t> bytes) {
  codec::Reader r(bytes);
  HeaderPtr h = decoder(r);
  if (!h || !r.ok() || !r.at_end()) return nullptr;
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<uint16_t> ids = registered_ids();
  if (size < 1 || ids.empty()) return 0;
  uint16_t id = data[0];
  HeaderDecoder decoder = HeaderRegistry::instance().decoder(id);
  if (!decoder) {
    id = ids[data[0] % ids.size()];
    decoder = HeaderRegistry::instance().decoder(id);
  }
  // An exact-size copy, so ASan sees any read past the end.
  std::vector<uint8_t> bytes(data + 1, data + size);
  HeaderPtr h = decode(decoder, bytes);
  if (!h) return 0;
  (void)h->to_string();
  codec::Writer once;
  h->encode(once);
  HeaderPtr again = decode(decoder, once.data());
  if (!again) {
    std::fprintf(stderr, "header %s (id %u): re-encoded bytes do not decode\n",
                 HeaderRegistry::instance().name(id), id);
    std::abort();
  }
  codec::Writer twice;
  again->encode(twice);
  if (twice.data() != once.data()) {
    std::fprintf(stderr, "header %s (id %u): encoding not stable across decode/encode\n",
                 HeaderRegistry::instance().name(id), id);
    std::abort();
  }
  return 0;
}
