#pragma once
// The commands and results of ReplicatedMap<K, V>, for the submitting side and the machine.
//
// Command (codec):  u8 op, then by op —
//   put              bytes key, bytes value          → optional<V> previous
//   get              bytes key                       → optional<V>
//   remove           bytes key                       → optional<V> previous
//   compare_and_set  bytes key, optional expected,   → bool (replaced?)
//                    bytes new_value
//   size             (nothing)                       → varint
//   contains         bytes key                       → bool
// where a key or value is its Boost.Serialization bytes (serialization.hpp), an optional is
// u8 present (0/1) then, if present, bytes, and a bool is u8 0/1. Nothing may follow.
// compare_and_set with no expected value means "only if the key is absent".
#include <cstdint>
#include <optional>

#include "blocks/block_status.hpp"
#include "blocks/serialization.hpp"
#include "stack/codec.hpp"

namespace cohort {

enum class MapOp : uint8_t { put = 1, get, remove, compare_and_set, size, contains };

/// True for the operations that change nothing (allowed as queries).
inline bool is_read_only(MapOp op) {
  return op == MapOp::get || op == MapOp::size || op == MapOp::contains;
}

template <class K, class V>
struct MapCommand {
  MapOp op = MapOp::get;
  K key{};
  std::optional<V> expected;  ///< compare_and_set only
  V value{};                  ///< put and compare_and_set only
};

template <class K, class V>
struct MapCodec {
  static Buffer put(const K& key, const V& value) { return key_value(MapOp::put, key, value); }
  static Buffer get(const K& key) { return key_only(MapOp::get, key); }
  static Buffer remove(const K& key) { return key_only(MapOp::remove, key); }
  static Buffer compare_and_set(const K& key, const std::optional<V>& expected,
                                const V& new_value) {
    codec::Writer w;
    w.u8(static_cast<uint8_t>(MapOp::compare_and_set));
    w.str(to_bytes(key));
    write_optional(w, expected);
    w.str(to_bytes(new_value));
    return w.take_buffer();
  }
  static Buffer size() {
    codec::Writer w;
    w.u8(static_cast<uint8_t>(MapOp::size));
    return w.take_buffer();
  }
  static Buffer contains(const K& key) { return key_only(MapOp::contains, key); }

  /// Decodes a command; nullopt for anything malformed (never throws).
  static std::optional<MapCommand<K, V>> decode(const Buffer& in) {
    codec::Reader r(in);
    MapCommand<K, V> c;
    const uint8_t op = r.u8();
    if (!r.ok() || op < 1 || op > 6) return std::nullopt;
    c.op = static_cast<MapOp>(op);
    if (c.op != MapOp::size) {
      auto key = from_bytes<K>(r.bytes_view());
      if (!key) return std::nullopt;
      c.key = std::move(*key);
    }
    if (c.op == MapOp::compare_and_set) {
      auto expected = read_optional(r);
      if (!expected) return std::nullopt;
      c.expected = std::move(*expected);
    }
    if (c.op == MapOp::put || c.op == MapOp::compare_and_set) {
      auto value = from_bytes<V>(r.bytes_view());
      if (!value) return std::nullopt;
      c.value = std::move(*value);
    }
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return c;
  }

  // Result bodies.
  static Buffer value_body(const std::optional<V>& v) {
    codec::Writer w;
    write_optional(w, v);
    return w.take_buffer();
  }
  static Buffer bool_body(bool b) { return cohort::bool_body(b); }
  static Buffer size_body(uint64_t n) {
    codec::Writer w;
    w.varint(n);
    return w.take_buffer();
  }

  // Typed results for the submitter: put / get / remove, compare_and_set / contains, size.
  static BlockReply<std::optional<V>> decode_value(const Buffer& result) {
    return decode_reply<std::optional<V>>(result, [](const Buffer& body) {
      codec::Reader r(body);
      auto v = read_optional(r);
      return (v && r.at_end()) ? v : std::nullopt;
    });
  }
  static BlockReply<bool> decode_bool(const Buffer& result) { return decode_bool_result(result); }
  static BlockReply<uint64_t> decode_size(const Buffer& result) {
    return decode_reply<uint64_t>(result, [](const Buffer& body) -> std::optional<uint64_t> {
      codec::Reader r(body);
      uint64_t n = r.varint();
      if (!r.ok() || !r.at_end()) return std::nullopt;
      return n;
    });
  }

 private:
  static Buffer key_only(MapOp op, const K& key) {
    codec::Writer w;
    w.u8(static_cast<uint8_t>(op));
    w.str(to_bytes(key));
    return w.take_buffer();
  }
  static Buffer key_value(MapOp op, const K& key, const V& value) {
    codec::Writer w;
    w.u8(static_cast<uint8_t>(op));
    w.str(to_bytes(key));
    w.str(to_bytes(value));
    return w.take_buffer();
  }
  static void write_optional(codec::Writer& w, const std::optional<V>& v) {
    w.u8(v ? 1 : 0);
    if (v) w.str(to_bytes(*v));
  }
  // nullopt: malformed; optional(nullopt): encoded absent value.
  static std::optional<std::optional<V>> read_optional(codec::Reader& r) {
    const uint8_t present = r.u8();
    if (!r.ok() || present > 1) return std::nullopt;
    if (!present) return std::optional<V>{};
    auto v = from_bytes<V>(r.bytes_view());
    if (!v || !r.ok()) return std::nullopt;
    return std::optional<V>(std::move(*v));
  }
};

}  // namespace cohort
