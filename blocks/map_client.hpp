#pragma once
// MapClient<K, V>: the client side of ReplicatedMap<K, V> over any BlockClient (RaftHandle in a
// member, RemoteClient outside). K and V as for ReplicatedMap (Boost.Serialization; include the
// boost/serialization header of your types). Commands and results: map_codec.hpp.
//
// Contract:
//  - put, remove and compare_and_set go through the Raft log in this client's session:
//    linearizable and applied exactly once despite retries. On `timeout` (raft::ClientErrc) the
//    outcome is unknown.
//  - get, size and contains are reads without a log entry, in the ReadMode given
//    (linearizable by default).
//  - put and remove give the previous value (nullopt = absent). compare_and_set(k, expected,
//    v) sets v if the current value equals `expected` (nullopt = only if absent) and says
//    whether it did.
//  - Errors: raft::ClientErrc or BlockStatus (block_errors.hpp); values are meaningful only
//    when !ec. Callbacks run on the client's thread; the BlockClient must outlive them.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <system_error>

#include "blocks/block_client.hpp"
#include "blocks/block_errors.hpp"
#include "blocks/map_codec.hpp"

namespace cohort {

template <class K, class V>
class MapClient {
 public:
  using Codec = MapCodec<K, V>;
  using ValueHandler = std::function<void(std::error_code, std::optional<V>)>;
  using BoolHandler = std::function<void(std::error_code, bool)>;
  using SizeHandler = std::function<void(std::error_code, uint64_t)>;

  /// `service`: the ReplicatedMap's registry name; `timeout` per operation (0 = CLIENT's).
  explicit MapClient(BlockClient& client, std::string service = "map", Duration timeout = {})
      : client_(client), service_(std::move(service)), timeout_(timeout) {}

  /// Sets key → value; gives the previous value.
  void put(const K& key, const V& value, ValueHandler done) {
    submit(Codec::put(key, value), std::move(done), &Codec::decode_value);
  }
  /// Removes the key; gives the value it had.
  void remove(const K& key, ValueHandler done) {
    submit(Codec::remove(key), std::move(done), &Codec::decode_value);
  }
  void compare_and_set(const K& key, const std::optional<V>& expected, const V& new_value,
                       BoolHandler done) {
    submit(Codec::compare_and_set(key, expected, new_value), std::move(done), &Codec::decode_bool);
  }
  void get(const K& key, raft::ReadMode mode, ValueHandler done) {
    read(Codec::get(key), mode, std::move(done), &Codec::decode_value);
  }
  void get(const K& key, ValueHandler done) {
    get(key, raft::ReadMode::linearizable, std::move(done));
  }
  void size(raft::ReadMode mode, SizeHandler done) {
    read(Codec::size(), mode, std::move(done), &Codec::decode_size);
  }
  void size(SizeHandler done) { size(raft::ReadMode::linearizable, std::move(done)); }
  void contains(const K& key, raft::ReadMode mode, BoolHandler done) {
    read(Codec::contains(key), mode, std::move(done), &Codec::decode_bool);
  }
  void contains(const K& key, BoolHandler done) {
    contains(key, raft::ReadMode::linearizable, std::move(done));
  }

 private:
  template <class T>
  static void complete(const std::function<void(std::error_code, T)>& done, std::error_code ec,
                       const Buffer& result, BlockReply<T> (*decode)(const Buffer&)) {
    if (ec) return done(ec, T{});
    BlockReply<T> r = decode(result);
    done(r.ok() ? std::error_code() : make_error_code(r.status), std::move(r.value));
  }

  template <class T>
  void submit(Buffer command, std::function<void(std::error_code, T)> done,
              BlockReply<T> (*decode)(const Buffer&)) {
    client_.submit(
        service_, std::move(command),
        [done = std::move(done), decode](std::error_code ec, Buffer result) {
          complete(done, ec, result, decode);
        },
        timeout_);
  }

  template <class T>
  void read(Buffer query, raft::ReadMode mode, std::function<void(std::error_code, T)> done,
            BlockReply<T> (*decode)(const Buffer&)) {
    client_.read(
        service_, std::move(query), mode,
        [done = std::move(done), decode](std::error_code ec, raft::ReadOutcome o) {
          complete(done, ec, o.result, decode);
        },
        timeout_);
  }

  BlockClient& client_;
  std::string service_;
  Duration timeout_;
};

}  // namespace cohort
