#pragma once
// The wire frame (DESIGN.md §4). One frame carries one message or a bundle of messages that share
// the cluster name, source and destination:
//
//   u16 magic 0x4843 ("CH") | u8 version (1) | u8 flags (bit0: has destination)
//   str cluster | Address src | [Address dest] | varint count
//   count × { varint msg_flags | varint n_headers | n × { u16 id | varint len | len bytes }
//             | varint payload_len | payload }
//
// decode_frame() checks every length against what remains and the configured limits; any
// malformed input yields an error string and no messages (the transport counts and drops it).
// Payloads of decoded messages are zero-copy slices of the frame buffer.
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stack/message.hpp"

namespace cohort {

inline constexpr uint16_t frame_magic = 0x4843;
inline constexpr uint8_t frame_version = 1;

struct FrameLimits {
  size_t max_messages = 65536;  ///< messages per frame
};

/// Appends one frame holding `msgs` (all from `src` to `dest`, null dest = group) to `w`.
void encode_frame(codec::Writer& w, std::string_view cluster, const Address& src,
                  const Address& dest, std::span<const Message> msgs);
/// Size of the per-message part of a frame (for bundling decisions).
size_t encoded_message_size(const Message& m);

struct DecodedFrame {
  std::string cluster;
  MessageBatch batch;
};

/// Decodes a frame that must fill `frame` exactly. On error returns nullopt and sets `error`.
std::optional<DecodedFrame> decode_frame(const Buffer& frame, std::string& error,
                                         const FrameLimits& limits = {});

}  // namespace cohort
