#pragma once
// Completion-token forms of Counter, so callers pick their style:
//   async_increment_and_get(c, [](boost::system::error_code ec, int64_t v) {...});  // callback
//   int64_t v = async_add_and_get(c, 5, boost::asio::use_future).get();            // future
//   int64_t v = co_await async_get(c, raft::ReadMode::linearizable, use_awaitable); // coroutine
// Completion signatures: void(boost::system::error_code, T) (void(error_code) for set). The
// error keeps its category (ClientErrc / BlockStatus): to_std_error(ec) == ClientErrc::timeout.
// use_future and use_awaitable throw boost::system::system_error on error.
// Include this only where you use it: it pulls in Boost.Asio.
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>

#include "blocks/async_completion.hpp"
#include "blocks/counter.hpp"

namespace cohort {

template <typename CompletionToken>
auto async_get(Counter& c, raft::ReadMode mode, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, int64_t)>(
      [&c, mode](auto handler) { c.get(mode, detail::block_completion(std::move(handler))); },
      token);
}

template <typename CompletionToken>
auto async_set(Counter& c, int64_t value, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
      [&c, value](auto handler) { c.set(value, detail::block_completion(std::move(handler))); },
      token);
}

template <typename CompletionToken>
auto async_add_and_get(Counter& c, int64_t delta, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, int64_t)>(
      [&c, delta](auto handler) {
        c.add_and_get(delta, detail::block_completion(std::move(handler)));
      },
      token);
}

template <typename CompletionToken>
auto async_increment_and_get(Counter& c, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, int64_t)>(
      [&c](auto handler) { c.increment_and_get(detail::block_completion(std::move(handler))); },
      token);
}

template <typename CompletionToken>
auto async_decrement_and_get(Counter& c, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, int64_t)>(
      [&c](auto handler) { c.decrement_and_get(detail::block_completion(std::move(handler))); },
      token);
}

template <typename CompletionToken>
auto async_compare_and_set(Counter& c, int64_t expected, int64_t new_value,
                           CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, CasOutcome)>(
      [&c, expected, new_value](auto handler) {
        c.compare_and_set(expected, new_value, detail::block_completion(std::move(handler)));
      },
      token);
}

}  // namespace cohort
