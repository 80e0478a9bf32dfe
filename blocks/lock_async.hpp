#pragma once
// Completion-token forms of Lock (callback, boost::asio::use_future, use_awaitable):
//   uint64_t token = co_await async_lock(l, use_awaitable);
//   std::optional<uint64_t> t = async_try_lock(l, 2s, use_future).get();  // nullopt: not acquired
//   co_await async_unlock(l, use_awaitable);
// Completion signatures: void(boost::system::error_code, uint64_t) for lock,
// void(boost::system::error_code, std::optional<uint64_t>) for try_lock, void(error_code) for
// unlock, void(error_code, bool) for still_held. The error keeps its category
// (to_std_error(ec) == BlockStatus::not_holder). Include only where used: it pulls in Boost.Asio.
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>
#include <cstdint>
#include <optional>

#include "blocks/async_completion.hpp"
#include "blocks/lock.hpp"

namespace cohort {

template <typename CompletionToken>
auto async_lock(Lock& l, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, uint64_t)>(
      [&l](auto handler) { l.lock(detail::block_completion(std::move(handler))); }, token);
}

template <typename CompletionToken>
auto async_try_lock(Lock& l, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken,
                                     void(boost::system::error_code, std::optional<uint64_t>)>(
      [&l](auto handler) { l.try_lock(detail::block_completion(std::move(handler))); }, token);
}

template <typename CompletionToken>
auto async_try_lock(Lock& l, Duration timeout, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken,
                                     void(boost::system::error_code, std::optional<uint64_t>)>(
      [&l, timeout](auto handler) {
        l.try_lock(timeout, detail::block_completion(std::move(handler)));
      },
      token);
}

template <typename CompletionToken>
auto async_unlock(Lock& l, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
      [&l](auto handler) { l.unlock(detail::block_completion(std::move(handler))); }, token);
}

template <typename CompletionToken>
auto async_still_held(Lock& l, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, bool)>(
      [&l](auto handler) { l.still_held(detail::block_completion(std::move(handler))); }, token);
}

}  // namespace cohort
