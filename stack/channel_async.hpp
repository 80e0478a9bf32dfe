#pragma once
// Completion-token forms of Channel's asynchronous operations, so callers pick their style:
//   async_connect(ch, "c", [](std::error_code ec) {...});          // callback (runs on the loop)
//   auto f = async_connect(ch, "c", boost::asio::use_future);      // std::future<void>
//   co_await async_connect(ch, "c", boost::asio::use_awaitable);   // C++20 coroutine
// Include this only where you use it: it pulls in Boost.Asio.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "stack/channel.hpp"

namespace cohort {

namespace detail {
// Completes `handler` the Asio way: through its associated executor (for use_awaitable, the
// coroutine's io_context; for a plain callback, the system executor, i.e. inline on the channel's
// loop), keeping that executor busy until then so that an io_context::run() waiting on the
// result does not return early.
template <typename Handler>
auto make_completion(Handler handler) {
  auto ex = boost::asio::get_associated_executor(handler);
  auto work = boost::asio::make_work_guard(ex);
  auto h = std::make_shared<Handler>(std::move(handler));
  auto w = std::make_shared<decltype(work)>(std::move(work));
  return [h, w](boost::system::error_code ec) {
    auto ex = w->get_executor();
    boost::asio::dispatch(ex, [h, w, ec]() mutable {
      Handler handler = std::move(*h);
      w->reset();
      handler(ec);
    });
  };
}
}  // namespace detail

template <typename CompletionToken>
auto async_connect(Channel& ch, std::string cluster, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code)>(
      [&ch](auto handler, std::string cluster) {
        auto complete = detail::make_completion(std::move(handler));
        ch.connect(std::move(cluster), [complete](std::error_code ec) {
          complete(ec ? boost::system::error_code(ec.value(), boost::system::generic_category())
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
        auto complete = detail::make_completion(std::move(handler));
        ch.runtime().post([complete, fn = std::move(fn)] {
          fn();
          complete(boost::system::error_code());
        });
      },
      token, std::move(fn));
}

}  // namespace cohort
