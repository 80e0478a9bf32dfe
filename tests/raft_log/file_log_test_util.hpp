#pragma once
// Shared helpers for the file log store tests: a self-removing temporary directory, entries
// whose payload is a pure function of (index, term) so any reader can check them, and raw
// file surgery (cut, flip, copy) to fake crashes and corruption.
#include <doctest/doctest.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "protocols/raft/log/entry.hpp"
#include "protocols/raft/log/segment.hpp"

namespace cohort::raft::test {

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/cohort-log-XXXXXX";
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path_ = tmpl;
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

/// Deterministic payload of 0..max_size-1 bytes: a reader can recompute and compare it.
inline std::string payload(Index i, Term t, size_t max_size = 300) {
  uint64_t h = (i * 0x9E3779B97F4A7C15ull) ^ (t * 0xC2B2AE3D27D4EB4Full);
  h ^= h >> 29;
  std::string s = "i" + std::to_string(i) + "t" + std::to_string(t) + ":";
  const size_t n = s.size() + h % max_size;
  while (s.size() < n)
    s.push_back(static_cast<char>('a' + (h = h * 6364136223846793005ull + 1) % 26));
  return s;
}

inline Entry make_entry(Index i, Term t, size_t max_size = 300) {
  Entry e;
  e.index = i;
  e.term = t;
  e.type = i % 7 == 0 ? EntryType::noop : EntryType::command;
  e.data = Buffer::copy_of(payload(i, t, max_size));
  return e;
}

inline std::vector<Entry> make_entries(Index from, Index to, Term t, size_t max_size = 300) {
  std::vector<Entry> v;
  for (Index i = from; i <= to; ++i)
    v.push_back(make_entry(i, t, max_size));
  return v;
}

inline bool entry_ok(const Entry& e, Index i, Term t, size_t max_size = 300) {
  return e.index == i && e.term == t && e.data.view() == payload(i, t, max_size) &&
         e.type == (i % 7 == 0 ? EntryType::noop : EntryType::command);
}

inline std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

inline void flip_byte(const std::string& path, uint64_t offset) {
  auto bytes = read_file(path);
  REQUIRE(offset < bytes.size());
  bytes[offset] ^= 0x5a;
  write_file(path, bytes);
}

/// Paths of the segment files in dir, in index order.
inline std::vector<std::string> segment_files(const std::string& dir) {
  std::vector<std::pair<Index, std::string>> found;
  for (const auto& f : std::filesystem::directory_iterator(dir)) {
    if (auto first = segment::parse_file_name(f.path().filename().string())) {
      found.emplace_back(*first, f.path().string());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<std::string> paths;
  for (auto& [first, path] : found)
    paths.push_back(path);
  return paths;
}

/// Offsets of every record in a segment file (walking the length fields; test files are sound),
/// followed by the end of the last record. A zero length is a preallocated tail: the end.
inline std::vector<uint64_t> record_offsets_and_end(const std::string& path) {
  const auto bytes = read_file(path);
  std::vector<uint64_t> offsets;
  uint64_t off = segment::header_bytes;
  while (off + 4 <= bytes.size()) {
    uint32_t len = 0;
    for (int k = 0; k < 4; ++k)
      len |= uint32_t{bytes[off + k]} << (8 * k);
    if (len == 0) break;
    offsets.push_back(off);
    off += 8 + len;
  }
  offsets.push_back(std::min<uint64_t>(off, bytes.size()));
  return offsets;
}

/// Offsets of every record in a segment file.
inline std::vector<uint64_t> record_offsets(const std::string& path) {
  auto offsets = record_offsets_and_end(path);
  offsets.pop_back();
  return offsets;
}

}  // namespace cohort::raft::test
