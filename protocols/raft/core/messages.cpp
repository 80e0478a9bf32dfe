#include "protocols/raft/core/messages.hpp"

#include <algorithm>

#include "protocols/raft/core/config.hpp"
#include "stack/codec.hpp"

namespace cohort::raft {

namespace {

constexpr uint8_t wire_version = 1;

// Flag bits shared by the vote messages.
constexpr uint8_t flag_pre = 1, flag_transfer = 2, flag_granted = 4, flag_done = 8;

struct Encoder {
  codec::Writer& w;
  void operator()(const VoteRequest& m) {
    w.varint(m.term);
    w.varint(m.last_index);
    w.varint(m.last_term);
    w.u8((m.pre ? flag_pre : 0) | (m.transfer ? flag_transfer : 0));
  }
  void operator()(const VoteResponse& m) {
    w.varint(m.term);
    w.u8((m.pre ? flag_pre : 0) | (m.granted ? flag_granted : 0));
  }
  void operator()(const AppendRequest& m) {
    w.varint(m.term);
    w.varint(m.prev_index);
    w.varint(m.prev_term);
    w.varint(m.commit);
    w.varint(m.entries.size());
    for (const auto& e : m.entries) {
      // Indexes are implied: consecutive from prev_index + 1.
      w.varint(e.term);
      w.u8(static_cast<uint8_t>(e.type));
      w.bytes(e.data.span());
    }
  }
  void operator()(const AppendResponse& m) {
    w.varint(m.term);
    w.u8(m.success ? 1 : 0);
    w.varint(m.match);
    w.varint(m.reject_index);
    w.varint(m.conflict_term);
    w.varint(m.conflict_index);
  }
  void operator()(const SnapshotRequest& m) {
    w.varint(m.term);
    w.varint(m.last_index);
    w.varint(m.last_term);
    w.bytes(m.config.span());
    w.varint(m.offset);
    w.varint(m.total_bytes);
    w.bytes(m.data.span());
    w.u8(m.done ? flag_done : 0);
  }
  void operator()(const SnapshotResponse& m) {
    w.varint(m.term);
    w.varint(m.last_index);
    w.varint(m.next_offset);
    w.u8(m.done ? flag_done : 0);
  }
  void operator()(const TimeoutNow& m) { w.varint(m.term); }
};

bool read_flags(codec::Reader& r, uint8_t allowed, uint8_t& flags) {
  flags = r.u8();
  if ((flags & ~allowed) != 0) r.fail("unknown flags");
  return r.ok();
}

bool decode_body(codec::Reader& r, uint8_t type, MessageBody& body) {
  uint8_t f = 0;
  switch (type) {
    case 0: {
      VoteRequest m;
      m.term = r.varint();
      m.last_index = r.varint();
      m.last_term = r.varint();
      read_flags(r, flag_pre | flag_transfer, f);
      m.pre = f & flag_pre;
      m.transfer = f & flag_transfer;
      body = m;
      break;
    }
    case 1: {
      VoteResponse m;
      m.term = r.varint();
      read_flags(r, flag_pre | flag_granted, f);
      m.pre = f & flag_pre;
      m.granted = f & flag_granted;
      body = m;
      break;
    }
    case 2: {
      AppendRequest m;
      m.term = r.varint();
      m.prev_index = r.varint();
      m.prev_term = r.varint();
      m.commit = r.varint();
      // Each entry takes at least 3 bytes: the count cannot exceed what remains / 3.
      size_t n = r.varint_max(std::min(max_append_entries_decoded, r.remaining() / 3),
                              "entry count beyond end");
      if (n > 0 && m.prev_index > UINT64_MAX - n) r.fail("index overflow");
      m.entries.reserve(r.ok() ? n : 0);
      for (size_t i = 0; i < n && r.ok(); ++i) {
        Entry e;
        e.index = m.prev_index + 1 + i;
        e.term = r.varint();
        uint8_t t = r.u8();
        if (t > static_cast<uint8_t>(EntryType::config)) r.fail("unknown entry type");
        e.type = static_cast<EntryType>(t);
        e.data = r.bytes();
        m.entries.push_back(std::move(e));
      }
      body = std::move(m);
      break;
    }
    case 3: {
      AppendResponse m;
      m.term = r.varint();
      uint8_t s = r.u8();
      if (s > 1) r.fail("bad success flag");
      m.success = s == 1;
      m.match = r.varint();
      m.reject_index = r.varint();
      m.conflict_term = r.varint();
      m.conflict_index = r.varint();
      body = m;
      break;
    }
    case 4: {
      SnapshotRequest m;
      m.term = r.varint();
      m.last_index = r.varint();
      m.last_term = r.varint();
      m.config = r.bytes();
      m.offset = r.varint();
      m.total_bytes = r.varint();
      m.data = r.bytes();
      read_flags(r, flag_done, f);
      m.done = f & flag_done;
      if (r.ok() && (m.offset > m.total_bytes || m.data.size() > m.total_bytes - m.offset)) {
        r.fail("chunk beyond snapshot size");
      }
      body = std::move(m);
      break;
    }
    case 5: {
      SnapshotResponse m;
      m.term = r.varint();
      m.last_index = r.varint();
      m.next_offset = r.varint();
      read_flags(r, flag_done, f);
      m.done = f & flag_done;
      body = m;
      break;
    }
    case 6: {
      TimeoutNow m;
      m.term = r.varint();
      body = m;
      break;
    }
    default:
      r.fail("unknown message type");
  }
  return r.ok();
}

}  // namespace

Buffer encode_message(const Message& m) {
  codec::Writer w(64);
  w.u8(wire_version);
  w.u8(static_cast<uint8_t>(m.body.index()));
  w.str(m.from);
  w.str(m.to);
  std::visit(Encoder{w}, m.body);
  return w.take_buffer();
}

bool decode_message(const Buffer& in, Message& out, std::string* error) {
  codec::Reader r(in);
  if (r.u8() != wire_version && r.ok()) r.fail("unknown version");
  uint8_t type = r.u8();
  out.from = r.str();
  out.to = r.str();
  if (r.ok() && (out.from.size() > max_raft_id_bytes || out.to.size() > max_raft_id_bytes)) {
    r.fail("raft id too long");
  }
  if (r.ok()) decode_body(r, type, out.body);
  if (r.ok() && !r.at_end()) r.fail("trailing bytes");
  if (!r.ok() && error) *error = r.error();
  return r.ok();
}

const char* message_name(const MessageBody& b) {
  static constexpr const char* names[] = {"VoteRequest",    "VoteResponse",    "AppendRequest",
                                          "AppendResponse", "SnapshotRequest", "SnapshotResponse",
                                          "TimeoutNow"};
  return names[b.index()];
}

Term message_term(const MessageBody& b) {
  return std::visit([](const auto& m) { return m.term; }, b);
}

bool operator==(const Entry& a, const Entry& b) {
  return a.term == b.term && a.index == b.index && a.type == b.type && a.data == b.data;
}
bool operator==(const AppendRequest& a, const AppendRequest& b) {
  return a.term == b.term && a.prev_index == b.prev_index && a.prev_term == b.prev_term &&
         a.commit == b.commit && a.entries == b.entries;
}
bool operator==(const SnapshotRequest& a, const SnapshotRequest& b) {
  return a.term == b.term && a.last_index == b.last_index && a.last_term == b.last_term &&
         a.config == b.config && a.offset == b.offset && a.total_bytes == b.total_bytes &&
         a.data == b.data && a.done == b.done;
}

}  // namespace cohort::raft
