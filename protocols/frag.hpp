#pragma once
// FRAG: fragmentation and reassembly (JGroups' FRAG2), above the transport. A message whose
// payload exceeds `frag_size` bytes is sent as ceil(size / frag_size) fragments, each a message
// with a FragHeader (message id, fragment index, count, total size) and a zero-copy slice of the
// payload. Fragment 0 is a copy of the original message (its headers and flags); the others carry
// only the original flags, so upper protocols' headers travel once. Receivers reassemble per
// (sender, message id) — fragments of several senders and messages may interleave — and pass the
// whole message up in place of its last fragment. The logic lives in protocols/frag_core.hpp.
//
// Limits: a partial message expires `max_reassembly_time` after its first fragment (checked every
// max_reassembly_time / 2; counted as `expired`); at most `max_reassembly_bytes` of fragments are
// buffered (the oldest partial messages are evicted to make room: `evicted`; a larger message is
// refused: `too_large`). Malformed fragments count as `invalid`, repeated ones as `duplicates`.
//
// Loop affinity: everything runs on the channel's loop.
#include <memory>

#include "protocols/frag_core.hpp"
#include "stack/header.hpp"
#include "stack/protocol.hpp"

namespace cohort {

class FragHeader : public Header {
 public:
  explicit FragHeader(frag::FragInfo info) : info(info) {}
  frag::FragInfo info;
  void encode(codec::Writer& w) const override;
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override;
};

class Frag : public Protocol {
 public:
  Frag();
  ~Frag() override;

  void init() override;
  void start() override;
  void stop() override;
  void down(Message& msg) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;

  /// Bytes of partial messages held now (for tests and probes).
  uint64_t buffered_bytes() const { return reassembler_ ? reassembler_->buffered_bytes() : 0; }
  size_t partial_messages() const { return reassembler_ ? reassembler_->partial_count() : 0; }

 private:
  /// Feeds one fragment to the reassembler; returns the whole message when it completes it.
  std::optional<Message> reassemble(const Message& fragment, const FragHeader& h);
  void expire();

  uint64_t frag_size_ = 60000;
  Duration max_reassembly_time_ = 10s;
  uint64_t max_reassembly_bytes_ = 64 * 1024 * 1024;

  std::unique_ptr<frag::Reassembler> reassembler_;
  uint64_t next_id_ = 1;
  TimerHandle expiry_timer_;

  uint64_t& fragmented_;
  uint64_t& fragments_sent_;
  uint64_t& fragments_received_;
  uint64_t& reassembled_;
  uint64_t& expired_;
  uint64_t& evicted_;
  uint64_t& too_large_;
  uint64_t& invalid_;
  uint64_t& duplicates_;
};

}  // namespace cohort
