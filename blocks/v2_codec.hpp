#pragma once
// The commands, queries and results of V2Store (the etcd v2 keys store, v2_store.hpp), for the
// HTTP gateway that submits them and the machine that applies them.
//
// Command / query (codec):  u8 op, str path, str value, u8 flags, varint ttl_ms,
//                           str prev_value, varint prev_index, u8 prev_exist (0 unset, 1 false,
//                           2 true). Nothing may follow. Unused fields are empty / zero.
// Result body (inside the block status convention of block_status.hpp):
//   u8 kind (0 event, 1 error), then
//   event: u8 action, node, u8 has_prev, [node], varint etcd_index, varint now_ms
//   error: varint code, str cause, varint index
//   node:  str key, u8 flags (1 dir, 2 has_value), [str value], varint expire_ms,
//          varint modified_index, varint created_index, varint child count, children...
// now_ms is the cluster time the result was computed at (TTLs are shown relative to it).
//
// Batch (many HTTP writes in one log entry): u8 batch_tag, varint n, n x (varint len, command);
// its result body: varint log index of the batch's entry, varint n, n x (varint len, result)
// where each result is what the command alone would have returned (status byte + body). Commands of
// a batch apply in order, each with its own store index, exactly as if they had been n entries.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stack/buffer.hpp"

namespace cohort::v2 {

/// The operations of etcd's v2 store (server/etcdserver/api/v2store/store.go).
enum class Op : uint8_t {
  set = 1,                 ///< create or replace a file (or create a dir)
  create = 2,              ///< create only if absent (POST: unique in-order key under path)
  update = 3,              ///< replace only if present
  compare_and_swap = 4,    ///< replace if prev_value / prev_index match
  remove = 5,              ///< delete (dir / recursive flags)
  compare_and_delete = 6,  ///< delete a file if prev_value / prev_index match
  sync = 7,                ///< no change: lets TTL expiry run at the entry's cluster time
  get = 8,                 ///< read (as a query, or through the log for a quorum read)
};

/// Event actions, named as etcd names them in JSON.
enum class Action : uint8_t {
  get = 0,
  set,
  create,
  update,
  compare_and_swap,
  remove,  ///< "delete"
  compare_and_delete,
  expire,
};
std::string_view to_string(Action a);

/// Error codes of etcd v2 (v2error/error.go) the store produces.
enum class Errc : uint16_t {
  key_not_found = 100,
  test_failed = 101,
  not_file = 102,
  not_dir = 104,
  node_exist = 105,
  root_read_only = 107,
  dir_not_empty = 108,
  prev_value_required = 201,
  ttl_nan = 202,
  index_nan = 203,
  invalid_field = 209,
  invalid_form = 210,
  refresh_value = 211,
  refresh_ttl_required = 212,
  raft_internal = 300,
  leader_elect = 301,
  event_index_cleared = 401,
};
/// etcd's message for the code ("Key not found", ...).
std::string_view message(Errc e);
/// The HTTP status etcd answers with for the code (404, 412, 403, 400, 500).
unsigned http_status(Errc e);

namespace flag {
inline constexpr uint8_t dir = 1;
inline constexpr uint8_t recursive = 2;
inline constexpr uint8_t unique = 4;   ///< create: append an in-order key under path
inline constexpr uint8_t refresh = 8;  ///< set/update/cas: new TTL, keep value, no watchers
inline constexpr uint8_t has_ttl = 16;
inline constexpr uint8_t sorted = 32;
}  // namespace flag

struct Command {
  Op op = Op::get;
  std::string path;
  std::string value;
  uint8_t flags = 0;
  uint64_t ttl_ms = 0;      ///< with flag::has_ttl: expire this long after the entry's cluster time
  std::string prev_value;   ///< empty: not compared
  uint64_t prev_index = 0;  ///< 0: not compared
  std::optional<bool> prev_exist;
  bool has(uint8_t f) const { return (flags & f) != 0; }
};

Buffer encode(const Command& c);

/// The first byte of a batch (never a valid Op).
inline constexpr uint8_t batch_tag = 0x42;
/// A batch of encoded commands (each from encode(Command)).
Buffer encode_batch(const std::vector<Buffer>& commands);
/// The commands of a batch (slices of `in`); nullopt when `in` is not a well-formed batch.
std::optional<std::vector<Buffer>> decode_batch(const Buffer& in);
struct BatchResults {
  uint64_t log_index = 0;  ///< the Raft log index of the batch's entry
  std::vector<Buffer> results;
};
/// The result body of a batch from its commands' results.
Buffer encode_batch_results(const BatchResults& r);
/// Splits a batch's whole result (status byte + body); nullopt when malformed or not ok.
std::optional<BatchResults> decode_batch_results(const Buffer& result);
/// nullopt for anything malformed (never throws).
std::optional<Command> decode_command(const Buffer& in);

/// A node as clients see it (etcd's NodeExtern).
struct Node {
  std::string key;
  std::optional<std::string> value;  ///< files only
  bool dir = false;
  uint64_t expire_ms = 0;  ///< cluster time; 0 = permanent
  uint64_t modified_index = 0;
  uint64_t created_index = 0;
  std::vector<Node> nodes;  ///< a directory's listed children
  bool operator==(const Node&) const = default;
};

struct Event {
  Action action = Action::get;
  Node node;
  std::optional<Node> prev_node;
  uint64_t etcd_index = 0;  ///< the store's index when answered (X-Etcd-Index)
  uint64_t now_ms = 0;      ///< cluster time of the answer
  bool operator==(const Event&) const = default;
};

struct Error {
  Errc code = Errc::key_not_found;
  std::string cause;
  uint64_t index = 0;
  bool operator==(const Error&) const = default;
};

using Reply = std::variant<Event, Error>;

/// The result body (put inside make_result(ok, ...)).
Buffer encode(const Reply& r);
/// Decodes a whole result (status byte + body); nullopt when malformed or not ok.
std::optional<Reply> decode_result(const Buffer& result);

}  // namespace cohort::v2
