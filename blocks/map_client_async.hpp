#pragma once
// Completion-token forms of MapClient<K, V>, so callers pick their style:
//   async_put(m, k, v, [](boost::system::error_code ec, std::optional<V> prev) {...});  // callback
//   auto prev = async_put(m, k, v, boost::asio::use_future).get();                      // future
//   auto v = co_await async_get(m, k, raft::ReadMode::linearizable, use_awaitable);     //
//   coroutine
// Completion signatures: void(boost::system::error_code, T) with T = std::optional<V> (put,
// remove, get), bool (compare_and_set, contains) or uint64_t (size). Errors keep their category
// (ClientErrc / BlockStatus); use_future and use_awaitable throw boost::system::system_error.
// Include this only where you use it: it pulls in Boost.Asio.
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>

#include "blocks/async_completion.hpp"
#include "blocks/map_client.hpp"

namespace cohort {

template <class K, class V, typename CompletionToken>
auto async_put(MapClient<K, V>& m, const K& key, const V& value, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken,
                                     void(boost::system::error_code, std::optional<V>)>(
      [&m, key, value](auto handler) {
        m.put(key, value, detail::block_completion(std::move(handler)));
      },
      token);
}

template <class K, class V, typename CompletionToken>
auto async_remove(MapClient<K, V>& m, const K& key, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken,
                                     void(boost::system::error_code, std::optional<V>)>(
      [&m, key](auto handler) { m.remove(key, detail::block_completion(std::move(handler))); },
      token);
}

template <class K, class V, typename CompletionToken>
auto async_compare_and_set(MapClient<K, V>& m, const K& key, const std::optional<V>& expected,
                           const V& new_value, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, bool)>(
      [&m, key, expected, new_value](auto handler) {
        m.compare_and_set(key, expected, new_value, detail::block_completion(std::move(handler)));
      },
      token);
}

template <class K, class V, typename CompletionToken>
auto async_get(MapClient<K, V>& m, const K& key, raft::ReadMode mode, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken,
                                     void(boost::system::error_code, std::optional<V>)>(
      [&m, key, mode](auto handler) {
        m.get(key, mode, detail::block_completion(std::move(handler)));
      },
      token);
}

template <class K, class V, typename CompletionToken>
auto async_size(MapClient<K, V>& m, raft::ReadMode mode, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, uint64_t)>(
      [&m, mode](auto handler) { m.size(mode, detail::block_completion(std::move(handler))); },
      token);
}

template <class K, class V, typename CompletionToken>
auto async_contains(MapClient<K, V>& m, const K& key, raft::ReadMode mode,
                    CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, bool)>(
      [&m, key, mode](auto handler) {
        m.contains(key, mode, detail::block_completion(std::move(handler)));
      },
      token);
}

}  // namespace cohort
