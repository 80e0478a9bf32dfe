#pragma once
// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every log record and of
// the meta and snapshot files. Castagnoli rather than zlib's CRC32 because it detects more
// error patterns at the record sizes we use and is what ext4, iSCSI and etcd's WAL use too.
// SSE4.2's crc32 instruction where the CPU has it, else portable slicing-by-8 (~1–2 GB/s): fast
// enough that reads verify every record.
#include <cstdint>
#include <span>

namespace cohort::raft {

/// Extends `crc` (the result of a previous call, 0 to start) over `bytes`.
uint32_t crc32c(std::span<const uint8_t> bytes, uint32_t crc = 0);

}  // namespace cohort::raft
