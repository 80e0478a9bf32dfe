#pragma once
// Fixed header ids, one per protocol that puts a header on messages. Every member must agree on
// these numbers (they are on the wire); add new protocols at the end of their range.
#include <cstdint>

namespace cohort::protocol_id {

inline constexpr uint16_t test = 1;  // tests' own headers
inline constexpr uint16_t loopback = 10;
inline constexpr uint16_t sim = 11;
inline constexpr uint16_t udp = 12;
inline constexpr uint16_t tcp = 13;
inline constexpr uint16_t discard = 20;
inline constexpr uint16_t delay = 21;
inline constexpr uint16_t ping = 30;
inline constexpr uint16_t tcpping = 31;
inline constexpr uint16_t file_ping = 32;
inline constexpr uint16_t dns_ping = 33;
inline constexpr uint16_t frag = 40;
inline constexpr uint16_t unicast = 41;
inline constexpr uint16_t nakack = 42;
inline constexpr uint16_t gms = 43;
inline constexpr uint16_t fd_all = 44;
inline constexpr uint16_t verify_suspect = 45;
inline constexpr uint16_t merge = 46;
inline constexpr uint16_t sym_encrypt = 50;
inline constexpr uint16_t auth = 51;
inline constexpr uint16_t election = 60;
inline constexpr uint16_t replication = 61;
inline constexpr uint16_t client = 62;
inline constexpr uint16_t blocks = 70;

}  // namespace cohort::protocol_id
