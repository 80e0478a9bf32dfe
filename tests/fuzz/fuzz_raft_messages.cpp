// fuzz_raft_messages: the Raft RPC codec (protocols/raft/core/messages.hpp) over arbitrary bytes.
// decode_message() must reject or accept without crashing, over-reading or allocating beyond the
// input; an accepted message must re-encode to bytes that decode to an equal encoding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "protocols/raft/core/messages.hpp"

using namespace cohort;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Buffer in = Buffer::copy_of(std::span(data, size));  // exact size: ASan sees over-reads
  raft::Message m;
  std::string error;
  if (!raft::decode_message(in, m, &error)) return 0;
  (void)raft::message_name(m.body);
  (void)raft::message_term(m.body);
  Buffer once = raft::encode_message(m);
  raft::Message again;
  if (!raft::decode_message(once, again, &error)) {
    std::fprintf(stderr, "re-encoded Raft message does not decode: %s\n", error.c_str());
    std::abort();
  }
  if (!(raft::encode_message(again) == once)) {
    std::fprintf(stderr, "Raft message encoding is not stable across decode/encode\n");
    std::abort();
  }
  return 0;
}
