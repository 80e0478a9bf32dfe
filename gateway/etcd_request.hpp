#pragma once
// Parses an etcd v2 keys request (method, target `/v2/keys/<key>?params`, form body) into a
// V2Store command, the way etcd 3.4's v2http parseKeyRequest and v2 apply do: PUT becomes set,
// create (prevExist=false), update (prevExist=true), or compareAndSwap (prevValue/prevIndex);
// POST creates an in-order key; DELETE is delete or compareAndDelete; GET is a read or, with
// wait=true, a watch. Bad parameters give etcd's error codes (201, 202, 203, 209, 211, 212).
// Pure: no I/O, no Boost.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "blocks/v2_codec.hpp"

namespace cohort::gateway {

/// The path prefix of the keys API.
inline constexpr std::string_view keys_prefix = "/v2/keys";

struct KeyRequest {
  v2::Command command;  ///< op get for reads and watches
  bool wait = false;
  uint64_t wait_index = 0;
  bool quorum = false;               ///< GET: a linearizable read
  bool no_value_on_success = false;  ///< writes answer without node / prevNode
};

/// Decodes %XX escapes (and '+' as space when `form`); nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s, bool form);

/// The first value of `name` in a form (`a=1&b=2`), decoded; nullopt when absent.
std::optional<std::string> form_value(std::string_view form, std::string_view name);

/// `target` must start with keys_prefix. `body` is the urlencoded form (may be empty); its
/// values win over the query string's, as with Go's Request.FormValue.
std::variant<KeyRequest, v2::Error> parse_key_request(std::string_view method,
                                                      std::string_view target,
                                                      std::string_view body);

}  // namespace cohort::gateway
