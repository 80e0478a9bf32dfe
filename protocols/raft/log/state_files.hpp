#pragma once
// The two small files beside the segments, both replaced atomically (write .tmp, fdatasync,
// rename, fsync the directory) and both ending in a CRC32C over everything before it:
//   meta     : magic "CMET", version u8, term u64, voted_for (varint length + bytes), crc u32
//   snapshot : magic "CSNP", version u8, last_index u64, last_term u64,
//              config (varint length + bytes), data length u64, data, crc u32
// A file that fails its CRC is corruption (the rename makes tearing impossible), so reading one
// throws StoreError rather than guessing.
#include <string>
#include <utility>

#include "protocols/raft/log/entry.hpp"

namespace cohort::raft::state_files {

constexpr const char* meta_name = "meta";
constexpr const char* snapshot_name = "snapshot";

void write_meta(const std::string& dir, const HardState& hs);
/// An absent meta file is the initial state (term 0, no vote).
HardState read_meta(const std::string& dir);

void write_snapshot(const std::string& dir, const SnapshotMeta& meta, const Buffer& data);
/// nullopt-like: last_index 0 and empty data when there is no snapshot file.
std::pair<SnapshotMeta, Buffer> read_snapshot(const std::string& dir);

}  // namespace cohort::raft::state_files
