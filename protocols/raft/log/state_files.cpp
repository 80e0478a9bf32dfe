#include "protocols/raft/log/state_files.hpp"

#include <array>
#include <cstring>

#include "protocols/raft/log/crc32c.hpp"
#include "protocols/raft/log/file_io.hpp"
#include "protocols/raft/log/log_store.hpp"
#include "stack/codec.hpp"

namespace cohort::raft::state_files {
namespace {

constexpr uint32_t meta_magic = 0x54454d43;      // "CMET" little-endian
constexpr uint32_t snapshot_magic = 0x504e5343;  // "CSNP"
constexpr uint8_t version = 1;
constexpr size_t crc_bytes = 4;

std::array<uint8_t, 4> le32(uint32_t v) {
  return {static_cast<uint8_t>(v), static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v >> 16),
          static_cast<uint8_t>(v >> 24)};
}

/// Checks the trailing CRC and returns the bytes it covers.
std::span<const uint8_t> checked_body(std::span<const uint8_t> file, const std::string& path) {
  if (file.size() < crc_bytes) throw StoreError("corrupt " + path + ": file too short");
  auto body = file.first(file.size() - crc_bytes);
  codec::Reader trailer(file.last(crc_bytes));
  if (trailer.u32() != crc32c(body)) throw StoreError("corrupt " + path + ": CRC mismatch");
  return body;
}

}  // namespace

void write_meta(const std::string& dir, const HardState& hs) {
  codec::Writer w(32 + hs.voted_for.size());
  w.u32(meta_magic);
  w.u8(version);
  w.u64(hs.term);
  w.str(hs.voted_for);
  w.u32(crc32c(w.data()));
  const std::span<const uint8_t> parts[] = {w.data()};
  file_io::write_atomically(dir, meta_name, parts);
}

HardState read_meta(const std::string& dir) {
  const std::string path = dir + "/" + meta_name;
  if (!file_io::exists(path)) return {};
  const std::vector<uint8_t> file = file_io::read_all(path);
  codec::Reader r(checked_body(file, path));
  HardState hs;
  const uint32_t magic = r.u32();
  const uint8_t v = r.u8();
  hs.term = r.u64();
  hs.voted_for = r.str();
  if (!r.ok() || magic != meta_magic || v != version || !r.at_end()) {
    throw StoreError("corrupt " + path + ": bad header or length");
  }
  return hs;
}

void write_snapshot(const std::string& dir, const SnapshotMeta& meta, const Buffer& data) {
  codec::Writer head(64 + meta.config.size());
  head.u32(snapshot_magic);
  head.u8(version);
  head.u64(meta.last_index);
  head.u64(meta.last_term);
  head.bytes(meta.config.span());
  head.u64(data.size());
  // Written in parts so that a large snapshot is never copied just to append a checksum.
  const auto crc = le32(crc32c(data.span(), crc32c(head.data())));
  const std::span<const uint8_t> parts[] = {head.data(), data.span(), crc};
  file_io::write_atomically(dir, snapshot_name, parts);
}

std::pair<SnapshotMeta, Buffer> read_snapshot(const std::string& dir) {
  const std::string path = dir + "/" + snapshot_name;
  if (!file_io::exists(path)) return {};
  const Buffer file(file_io::read_all(path));
  // The Reader keeps a pointer to its Buffer (for zero-copy slices), so the body must be named.
  const Buffer body = file.slice(0, checked_body(file.span(), path).size());
  codec::Reader r(body);
  SnapshotMeta meta;
  const uint32_t magic = r.u32();
  const uint8_t v = r.u8();
  meta.last_index = r.u64();
  meta.last_term = r.u64();
  meta.config = r.bytes();
  const uint64_t data_bytes = r.u64();
  if (!r.ok() || magic != snapshot_magic || v != version || data_bytes != r.remaining()) {
    throw StoreError("corrupt " + path + ": bad header or length");
  }
  Buffer data = r.slice(data_bytes);
  return {std::move(meta), std::move(data)};
}

}  // namespace cohort::raft::state_files
