#pragma once
// Support for the completion-token forms of the typed blocks (counter_async.hpp,
// lock_async.hpp, map_client_async.hpp, raft_handle_async.hpp): std::error_code ↔
// boost::system::error_code without losing the category, and completing an Asio handler on its
// associated executor. Include only where you use it: it pulls in Boost.Asio.
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/system/error_code.hpp>
#include <memory>
#include <system_error>
#include <tuple>
#include <utility>

namespace cohort {

/// A boost::system::error_code that carries `ec`'s category (name and messages) so that
/// use_future / use_awaitable throw a system_error reading "no leader", not "Unknown error".
/// Boost 1.74 cannot hold a std::error_code, hence the adapter category.
boost::system::error_code to_boost_error(const std::error_code& ec);
/// The inverse of to_boost_error: compare the result with ClientErrc / BlockStatus as usual,
/// e.g. `to_std_error(e.code()) == raft::ClientErrc::no_leader`.
std::error_code to_std_error(const boost::system::error_code& ec);

namespace detail {

/// Wraps an Asio completion handler into a copyable callable `(std::error_code, Args...)` that
/// completes the handler through its associated executor (for a plain callback, inline on the
/// client's thread; for use_awaitable, the coroutine's executor), keeping that executor busy
/// until then. Call it exactly once.
template <typename Handler>
auto block_completion(Handler handler) {
  auto work = boost::asio::make_work_guard(boost::asio::get_associated_executor(handler));
  auto h = std::make_shared<Handler>(std::move(handler));
  auto w = std::make_shared<decltype(work)>(std::move(work));
  return [h, w](std::error_code ec, auto... args) {
    auto ex = w->get_executor();
    boost::asio::dispatch(ex, [h, w, ec, args = std::make_tuple(std::move(args)...)]() mutable {
      Handler handler = std::move(*h);
      w->reset();
      std::apply([&](auto&&... a) { handler(to_boost_error(ec), std::move(a)...); },
                 std::move(args));
    });
  };
}

}  // namespace detail
}  // namespace cohort
