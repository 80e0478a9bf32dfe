#pragma once
// JSON of etcd 3.4's v2 API, byte for byte the shapes Go's encoding/json gives etcd's structs:
// events `{"action":..,"node":{..},"prevNode":{..}}` with the NodeExtern fields in their order
// and omitempty rules, errors `{"errorCode":..,"message":..,"cause":..,"index":..}`, each
// followed by a newline (json.Encoder). Strings are escaped as Go does (HTML-safe: <, >, &).
// Pure: no I/O.
#include <cstdint>
#include <string>
#include <string_view>

#include "blocks/v2_codec.hpp"

namespace cohort::gateway {

/// Appends `s` as a JSON string literal (with quotes).
void append_json_string(std::string& out, std::string_view s);

/// Renders an event. TTLs and expirations are shown relative to the event's cluster time
/// (now_ms); `wall_now_ms` (Unix epoch ms) anchors the absolute "expiration" timestamps.
/// `no_value` drops node and prevNode (noValueOnSuccess).
void append_event(std::string& out, const v2::Event& e, uint64_t wall_now_ms,
                  bool no_value = false);
void append_error(std::string& out, const v2::Error& e);

/// RFC 3339 with nanoseconds, trailing zeros trimmed, UTC ("2024-01-02T03:04:05.5Z"), as
/// Go's time.RFC3339Nano.
std::string rfc3339(uint64_t unix_ms);

}  // namespace cohort::gateway
