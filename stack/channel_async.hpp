#pragma once
// Completion-token forms of Channel's asynchronous operations, so callers pick their style:
//   async_connect(ch, "c", [](std::error_code ec) {...});          // callback (runs on the loop)
//   auto f = async_connect(ch, "c", boost::asio::use_future);      // std::future<void>
//   co_await async_connect(ch, "c", boost::asio::use_awaitable);   // C++20 coroutine
// Include this only where you use it: it pulls in Boost.Asio.
#include <boost/asio/async_result.hpp>
#include <system_error>

#include "stack/channel.hpp"

namespace cohort {

template <typename CompletionToken>
auto async_connect(Channel& ch, std::string cluster, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
      [&ch](auto handler, std::string cluster) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        ch.connect(std::move(cluster), [h](std::error_code ec) {
          (*h)(ec ? boost::system::error_code(ec.value(), boost::system::generic_category())
                  : boost::system::error_code());
        });
      },
      token, std::move(cluster));
}

/// Completes once `fn` has run on the channel's loop.
template <typename CompletionToken>
auto async_invoke(Channel& ch, std::function<void()> fn, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
      [&ch](auto handler, std::function<void()> fn) {
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        ch.runtime().post([h, fn = std::move(fn)] {
          fn();
          (*h)(boost::system::error_code());
        });
      },
      token, std::move(fn));
}

}  // namespace cohort
