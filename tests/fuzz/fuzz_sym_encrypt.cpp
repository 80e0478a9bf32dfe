// fuzz_sym_encrypt: SYM_ENCRYPT's receive path over arbitrary bytes. The first byte picks a mode:
//   0  the rest is { varint n | n header bytes | sealed payload }: a received message whose
//      SYM_ENCRYPT header and ciphertext are hostile (header decoder, key lookup, AEAD reject);
//   1  the rest is a decrypted plaintext: the inner decoder (flags, headers through
//      HeaderRegistry, payload) that runs only after authentication succeeded;
//   2  the rest is { u8 flags | payload }: encrypt then decrypt must give the message back, and
//      any single flipped byte of the sealed payload must be rejected.
// Never a crash, an over-read or an abort; mode 2 aborts on a broken round trip.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "protocols/builtin.hpp"
#include "protocols/sym_encrypt.hpp"
#include "stack/protocol_ids.hpp"
#include "stack/protocol_registry.hpp"

using namespace cohort;

namespace {

const Address peer(0x1111, 0x2222, "A");
const Address self(0x3333, 0x4444, "B");

SymEncrypt& protocol() {
  static std::unique_ptr<SymEncrypt> p = [] {
    register_builtin_protocols();
    for (const auto& name : ProtocolRegistry::instance().names())  // register header decoders
      ProtocolRegistry::instance().create(name);
    auto p = std::make_unique<SymEncrypt>();
    SymEncrypt::Key current{1, {}}, old{2, {}};
    current.bytes.fill(0x42);
    old.bytes.fill(0x24);
    p->set_keys(current, old);
    return p;
  }();
  return *p;
}

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_sym_encrypt: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  SymEncrypt& p = protocol();
  if (size == 0) return 0;
  uint8_t mode = data[0] % 3;
  Buffer rest = Buffer::copy_of(std::span(data + 1, size - 1));
  switch (mode) {
    case 0: {
      codec::Reader r(rest);
      auto hbytes = r.bytes_view();
      if (!r.ok()) return 0;
      codec::Reader hr(hbytes);
      HeaderPtr h = SymEncryptHeader::decode(hr);
      // src stays null, as for the seeds sealed outside a stack: they authenticate.
      Message m(self, r.slice(r.remaining()));
      if (h && hr.ok()) m.put_header(protocol_id::sym_encrypt, h);
      (void)p.decrypt(m);
      return 0;
    }
    case 1: {
      Message outer(self);
      outer.src(peer);
      (void)SymEncrypt::decode_plaintext(rest, outer);
      return 0;
    }
    default: {
      if (rest.empty()) return 0;
      Message m(self, rest.slice(1, rest.size() - 1));
      m.flags(rest.data()[0]);
      auto sealed = p.encrypt(m);
      if (!sealed) fail("encrypt refused with a key installed");
      // Outside a stack the local address is null: encrypt() put it as src, as a transport would.
      auto opened = p.decrypt(*sealed);
      if (!opened) fail("round trip failed");
      if (!(opened->payload() == m.payload()) || opened->flags() != m.flags())
        fail("round trip changed the message");
      const Buffer& c = sealed->payload();
      std::vector<uint8_t> bad(c.span().begin(), c.span().end());
      bad[rest.data()[0] % bad.size()] ^= static_cast<uint8_t>(1 + rest.data()[0] / 3 % 255);
      Message tampered = *sealed;
      tampered.payload(Buffer(std::move(bad)));
      if (p.decrypt(tampered)) fail("a tampered message was accepted");
      return 0;
    }
  }
}
