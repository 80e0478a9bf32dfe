#include "protocols/raft/log/segment.hpp"

#include <charconv>
#include <cstring>

#include "protocols/raft/log/crc32c.hpp"

namespace cohort::raft::segment {
namespace {

constexpr char magic[8] = {'C', 'O', 'H', 'O', 'L', 'O', 'G', '1'};
constexpr std::string_view suffix = ".log";
constexpr size_t name_digits = 20;

void put_u32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
void put_u64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i)
    p[i] = static_cast<uint8_t>(v >> (8 * i));
}
uint32_t get_u32(const uint8_t* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= uint32_t{p[i]} << (8 * i);
  return v;
}
uint64_t get_u64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= uint64_t{p[i]} << (8 * i);
  return v;
}

uint32_t record_crc(const uint8_t* record, size_t body_bytes) {
  uint32_t c = crc32c({record, 4});  // the length field
  return crc32c({record + 8, body_bytes}, c);
}

}  // namespace

std::string file_name(Index first_index) {
  std::string digits = std::to_string(first_index);
  return std::string(name_digits - digits.size(), '0') + digits + std::string(suffix);
}

std::optional<Index> parse_file_name(std::string_view name) {
  if (name.size() != name_digits + suffix.size() || !name.ends_with(suffix)) return std::nullopt;
  Index v = 0;
  auto [p, ec] = std::from_chars(name.data(), name.data() + name_digits, v);
  if (ec != std::errc() || p != name.data() + name_digits) return std::nullopt;
  return v;
}

void encode_header(std::vector<uint8_t>& out, Index first_index) {
  size_t at = out.size();
  out.resize(at + header_bytes);
  std::memcpy(out.data() + at, magic, sizeof magic);
  put_u64(out.data() + at + 8, first_index);
}

std::optional<Index> decode_header(std::span<const uint8_t> bytes) {
  if (bytes.size() < header_bytes || std::memcmp(bytes.data(), magic, sizeof magic) != 0) {
    return std::nullopt;
  }
  return get_u64(bytes.data() + 8);
}

size_t record_bytes(const Entry& e) {
  return record_header_bytes + e.data.size();
}

void encode_record(std::vector<uint8_t>& out, const Entry& e) {
  const size_t at = out.size();
  const size_t body = record_body_fixed_bytes + e.data.size();
  out.resize(at + record_header_bytes + e.data.size());
  uint8_t* p = out.data() + at;
  put_u32(p, static_cast<uint32_t>(body));
  put_u64(p + 8, e.term);
  put_u64(p + 16, e.index);
  p[24] = static_cast<uint8_t>(e.type);
  if (!e.data.empty()) std::memcpy(p + 25, e.data.data(), e.data.size());
  put_u32(p + 4, record_crc(p, body));
}

std::optional<RecordView> decode_record(std::span<const uint8_t> bytes, const char** why) {
  if (bytes.size() < record_header_bytes) {
    *why = "partial record header";
    return std::nullopt;
  }
  const uint8_t* p = bytes.data();
  const uint32_t body = get_u32(p);
  if (body < record_body_fixed_bytes || body - record_body_fixed_bytes > max_data_bytes) {
    *why = "record length out of range";
    return std::nullopt;
  }
  if (bytes.size() - 8 < body) {
    *why = "record runs past the end of the file";
    return std::nullopt;
  }
  if (get_u32(p + 4) != record_crc(p, body)) {
    *why = "CRC mismatch";
    return std::nullopt;
  }
  if (p[24] > static_cast<uint8_t>(EntryType::config)) {
    *why = "unknown entry type";
    return std::nullopt;
  }
  RecordView r;
  r.term = get_u64(p + 8);
  r.index = get_u64(p + 16);
  r.type = static_cast<EntryType>(p[24]);
  r.data = bytes.subspan(record_header_bytes, body - record_body_fixed_bytes);
  r.bytes = 8 + body;
  return r;
}

Scan scan(std::span<const uint8_t> file, Index first_index, Term prev_term) {
  Scan s;
  uint64_t offset = header_bytes;
  Index expect = first_index;
  while (offset < file.size()) {
    const char* why = "";
    auto r = decode_record(file.subspan(offset), &why);
    if (r && (r->index != expect || r->term < prev_term)) {
      s.inconsistent = true;
      why = r->index != expect ? "index out of sequence" : "term decreases";
      r.reset();
    }
    if (!r) {
      s.complete = false;
      s.bad_offset = offset;
      s.why = why;
      break;
    }
    s.locs.push_back({r->term, static_cast<uint32_t>(offset), r->bytes});
    prev_term = r->term;
    ++expect;
    offset += r->bytes;
  }
  s.good_bytes = s.complete ? file.size() : s.bad_offset;
  if (s.good_bytes < header_bytes) s.good_bytes = header_bytes;
  return s;
}

std::optional<uint64_t> find_valid_record(std::span<const uint8_t> file, uint64_t from,
                                          Index after_index) {
  // Byte by byte, because the damage may have destroyed the length that would let us skip.
  // The cheap index check runs before the CRC so garbage costs almost nothing to pass over.
  for (uint64_t off = from; off + record_header_bytes <= file.size(); ++off) {
    const Index index = get_u64(file.data() + off + 16);
    if (index <= after_index || index - after_index > file.size()) continue;
    const char* why = "";
    if (decode_record(file.subspan(off), &why)) return off;
  }
  return std::nullopt;
}

}  // namespace cohort::raft::segment
