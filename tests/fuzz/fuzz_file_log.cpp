// fuzz_file_log: FileLogStore's recovery (the segment record reader) over a directory whose only
// segment holds the fuzz input. The store must open (repairing a torn tail) or refuse with a
// StoreError; an opened store must answer reads over its whole range.
//
// The first input byte picks how the rest becomes the segment file:
//   bit 0  prepend a valid segment header (magic, first index 1)
//   bit 1  fix the CRC of every record that parses by its length field, so the fuzzer gets past
//          the checksum to the record fields (term, index, type, data) and the index sequence.
#include <stdlib.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "protocols/raft/log/crc32c.hpp"
#include "protocols/raft/log/file_log_store.hpp"
#include "protocols/raft/log/segment.hpp"

using namespace cohort;
using namespace cohort::raft;

namespace {

// Leaked on purpose: the atexit cleanup runs after static destructors.
const std::string& dir() {
  static const std::string* d = [] {
    std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string tmpl = base + "/cohort-fuzz-log-XXXXXX";
    if (!mkdtemp(tmpl.data())) std::abort();
    auto* path = new std::string(tmpl);
    std::atexit([] { std::filesystem::remove_all(dir()); });
    return path;
  }();
  return *d;
}

uint32_t get_u32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}

// Rewrites the CRC field of each record that the length fields chain through.
void fix_crcs(std::vector<uint8_t>& b) {
  size_t at = segment::header_bytes;
  while (at + segment::record_header_bytes <= b.size()) {
    uint32_t body = get_u32(&b[at]);
    if (body < segment::record_body_fixed_bytes || at + 8 + body > b.size()) return;
    uint32_t crc = crc32c({&b[at], 4});
    crc = crc32c({&b[at + 8], body}, crc);
    put_u32(&b[at + 4], crc);
    at += 8 + body;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  std::vector<uint8_t> file;
  if (mode & 1) segment::encode_header(file, 1);
  file.insert(file.end(), data + 1, data + size);
  if (mode & 2) fix_crcs(file);

  std::filesystem::remove_all(dir());
  std::filesystem::create_directories(dir());
  {
    std::ofstream out(dir() + "/" + segment::file_name(1), std::ios::binary);
    out.write(reinterpret_cast<const char*>(file.data()),
              static_cast<std::streamsize>(file.size()));
  }
  try {
    FileLogOptions options;
    options.segment_bytes = 4096;
    FileLogStore store(dir(), options);
    Index first = store.first_index(), last = store.last_index();
    if (last + 1 < first) std::abort();
    for (Index i = first; i <= last && i < first + 64; ++i)
      (void)store.term_at(i);
    if (last >= first) (void)store.entries(first, last, 1 << 20);
  } catch (const StoreError&) {
  }
  return 0;
}
