#pragma once
// ReplicatedMap<K, V>: a key → value map replicated through Raft (JGroups' ReplicatedHashMap,
// with consensus). K and V are any types Boost.Serialization handles (include the
// boost/serialization header for your types, e.g. <boost/serialization/string.hpp>); K needs
// operator< (entries are kept ordered, which makes snapshots deterministic).
//
// Commands and results: map_codec.hpp. Submitted through the log, every operation is
// linearizable; query() answers the read-only ones (get, size, contains) from this member's
// state, as fresh as the caller's read path makes it (ReadIndex, lease or stale).
//
// Change listeners run on every member, synchronously inside apply(), once per applied change
// (put, a remove of a present key, a successful compare_and_set), with the old and new values
// (nullopt = absent). They are local (not replicated), are not called by restore(), and must
// not call back into the map's apply() nor add or remove listeners.
#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <utility>

#include "blocks/map_codec.hpp"
#include "blocks/state_machine.hpp"

namespace cohort {

template <class K, class V>
class ReplicatedMap : public StateMachine {
 public:
  using Codec = MapCodec<K, V>;
  using ChangeListener = std::function<void(const K& key, const std::optional<V>& old_value,
                                            const std::optional<V>& new_value)>;

  /// Registers a listener; returns an id for remove_listener.
  uint64_t add_listener(ChangeListener l) {
    listeners_.emplace(++last_listener_id_, std::move(l));
    return last_listener_id_;
  }
  void remove_listener(uint64_t id) { listeners_.erase(id); }

  // Local reads of this member's state (stale unless the caller made them fresh).
  std::optional<V> get(const K& key) const {
    auto it = data_.find(key);
    return it == data_.end() ? std::nullopt : std::optional<V>(it->second);
  }
  size_t size() const { return data_.size(); }
  bool contains(const K& key) const { return data_.count(key) > 0; }
  const std::map<K, V>& entries() const { return data_; }

  Buffer apply(const ApplyContext& /*ctx*/, const Buffer& command) override {
    auto c = Codec::decode(command);
    if (!c) return make_result(BlockStatus::malformed);
    switch (c->op) {
      case MapOp::put: {
        auto old = get(c->key);
        data_[c->key] = c->value;
        notify(c->key, old, c->value);
        return make_result(BlockStatus::ok, Codec::value_body(old));
      }
      case MapOp::remove: {
        auto it = data_.find(c->key);
        if (it == data_.end()) return make_result(BlockStatus::ok, Codec::value_body({}));
        std::optional<V> old(std::move(it->second));
        data_.erase(it);
        notify(c->key, old, std::nullopt);
        return make_result(BlockStatus::ok, Codec::value_body(old));
      }
      case MapOp::compare_and_set: {
        auto old = get(c->key);
        if (old != c->expected) return make_result(BlockStatus::ok, Codec::bool_body(false));
        data_[c->key] = c->value;
        notify(c->key, old, c->value);
        return make_result(BlockStatus::ok, Codec::bool_body(true));
      }
      default:
        return read(*c);
    }
  }

  Buffer query(const Buffer& query) const override {
    auto c = Codec::decode(query);
    if (!c) return make_result(BlockStatus::malformed);
    if (!is_read_only(c->op)) return make_result(BlockStatus::write_in_query);
    return read(*c);
  }

  /// u8 version, then the Boost.Serialization bytes of the ordered map.
  Buffer snapshot() const override {
    codec::Writer w;
    w.u8(snapshot_version);
    w.str(to_bytes(data_));
    return w.take_buffer();
  }

  void restore(const Buffer& snapshot) override {
    codec::Reader r(snapshot);
    if (r.u8() != snapshot_version) throw SnapshotError("map snapshot: bad version");
    auto data = from_bytes<std::map<K, V>>(r.bytes_view());
    if (!data || !r.ok() || !r.at_end()) throw SnapshotError("map snapshot: malformed");
    data_ = std::move(*data);
  }

 private:
  static constexpr uint8_t snapshot_version = 1;

  Buffer read(const MapCommand<K, V>& c) const {
    switch (c.op) {
      case MapOp::get:
        return make_result(BlockStatus::ok, Codec::value_body(get(c.key)));
      case MapOp::size:
        return make_result(BlockStatus::ok, Codec::size_body(data_.size()));
      case MapOp::contains:
        return make_result(BlockStatus::ok, Codec::bool_body(contains(c.key)));
      default:
        return make_result(BlockStatus::malformed);
    }
  }

  void notify(const K& key, const std::optional<V>& old_value, const std::optional<V>& new_value) {
    for (auto& [id, l] : listeners_)
      l(key, old_value, new_value);
  }

  std::map<K, V> data_;
  std::map<uint64_t, ChangeListener> listeners_;
  uint64_t last_listener_id_ = 0;
};

}  // namespace cohort
