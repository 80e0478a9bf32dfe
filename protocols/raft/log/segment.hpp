#pragma once
// On-disk format of a log segment, and the scan that recovery runs over one.
//
// A segment file is named after the index of its first entry (`<20 digits>.log`) and holds:
//   header  : magic "COHOLOG1" (8 bytes), first_index u64
//   records : length u32, crc u32, term u64, index u64, type u8, data[length - 17]
// All integers little-endian. `length` counts term..data; `crc` is CRC32C over the length field
// and the body, so a flipped length is caught like any other flipped byte.
//
// Records are only ever appended (or cut off at a record boundary), so after a crash the only
// expected damage is at the very end of the last segment: a partial or unwritten record.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "protocols/raft/log/entry.hpp"

namespace cohort::raft::segment {

constexpr size_t header_bytes = 16;
constexpr size_t record_header_bytes = 25;      ///< length, crc, term, index, type
constexpr size_t record_body_fixed_bytes = 17;  ///< term, index, type: counted by `length`
/// Largest entry data accepted, so every offset and length fits the u32 fields in memory.
constexpr size_t max_data_bytes = size_t{256} << 20;

/// Where one entry lives inside its segment file (what the in-memory index holds per entry).
struct Loc {
  Term term = 0;
  uint32_t offset = 0;  ///< of the record header
  uint32_t bytes = 0;   ///< whole record, header included
};

std::string file_name(Index first_index);
/// The first index encoded in a segment file name; nullopt for files that are not segments.
std::optional<Index> parse_file_name(std::string_view name);

void encode_header(std::vector<uint8_t>& out, Index first_index);
/// nullopt when the header is short or its magic is wrong.
std::optional<Index> decode_header(std::span<const uint8_t> bytes);

size_t record_bytes(const Entry& e);
/// Appends the record for `e` to `out`.
void encode_record(std::vector<uint8_t>& out, const Entry& e);

/// A record decoded in place: `data` points into the scanned bytes.
struct RecordView {
  Term term = 0;
  Index index = 0;
  EntryType type = EntryType::command;
  std::span<const uint8_t> data;
  uint32_t bytes = 0;  ///< whole record
};

/// Decodes the record at the start of `bytes`. On failure returns nullopt and sets `why`
/// (short header, length out of range, record runs past the end, CRC mismatch, bad type).
std::optional<RecordView> decode_record(std::span<const uint8_t> bytes, const char** why);

/// The result of scanning a whole segment file.
struct Scan {
  std::vector<Loc> locs;    ///< records that decoded and continued the index sequence
  uint64_t good_bytes = 0;  ///< end of the last good record (header_bytes if none)
  bool complete = true;     ///< false: scanning stopped before the end of the file
  uint64_t bad_offset = 0;  ///< where it stopped
  std::string why;          ///< and why
  /// A record that decoded with a valid CRC but broke the index/term sequence: real
  /// corruption or a bug, never the result of a torn write.
  bool inconsistent = false;
};

/// Scans the records after the header. `first_index` comes from the file name; `prev_term` is the
/// term of the entry before it (0 if none): terms never decrease along the log.
Scan scan(std::span<const uint8_t> file, Index first_index, Term prev_term);

/// Offset of the first record at or after `from` that decodes with a valid CRC and an index
/// above `after_index`: evidence that damage found at `from` is not a torn tail.
std::optional<uint64_t> find_valid_record(std::span<const uint8_t> file, uint64_t from,
                                          Index after_index);

}  // namespace cohort::raft::segment
