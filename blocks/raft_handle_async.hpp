#pragma once
// Completion-token forms of RaftHandle's submit and read (callback, boost::asio::use_future,
// use_awaitable):
//   async_submit(raft, "counter", cmd, [](boost::system::error_code ec, Buffer result) {...});
//   Buffer r = async_submit(raft, "counter", cmd, boost::asio::use_future).get();
//   ReadOutcome o = co_await async_read(raft, "counter", q, ReadMode::linearizable, use_awaitable);
// They take any BlockClient, so a RemoteClient works the same way.
// Completion signatures: void(boost::system::error_code, Buffer) for submit (the status byte +
// body of blocks/block_status.hpp), void(boost::system::error_code, raft::ReadOutcome) for read.
// The error keeps its category: to_std_error(ec) == raft::ClientErrc::no_leader. use_future and
// use_awaitable throw boost::system::system_error on error. A plain callback runs on the
// channel's loop (its associated executor is the system executor), like submit's own callback.
// Include only where used: it pulls in Boost.Asio.
#include <boost/asio/async_result.hpp>
#include <boost/system/error_code.hpp>
#include <string>
#include <utility>

#include "blocks/async_completion.hpp"
#include "blocks/block_client.hpp"

namespace cohort {

/// Replicates `command` for `service` exactly once; `timeout` 0 = CLIENT's.
template <typename CompletionToken>
auto async_submit(BlockClient& client, std::string service, Buffer command, Duration timeout,
                  CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken, void(boost::system::error_code, Buffer)>(
      [&client, timeout](auto handler, std::string service, Buffer command) {
        client.submit(std::move(service), std::move(command),
                      detail::block_completion(std::move(handler)), timeout);
      },
      token, std::move(service), std::move(command));
}

template <typename CompletionToken>
auto async_submit(BlockClient& client, std::string service, Buffer command,
                  CompletionToken&& token) {
  return async_submit(client, std::move(service), std::move(command), Duration{},
                      std::forward<CompletionToken>(token));
}

/// A read-only query for `service` in `mode` (no log entry); `timeout` 0 = CLIENT's.
template <typename CompletionToken>
auto async_read(BlockClient& client, std::string service, Buffer query, raft::ReadMode mode,
                Duration timeout, CompletionToken&& token) {
  return boost::asio::async_initiate<CompletionToken,
                                     void(boost::system::error_code, raft::ReadOutcome)>(
      [&client, mode, timeout](auto handler, std::string service, Buffer query) {
        client.read(std::move(service), std::move(query), mode,
                    detail::block_completion(std::move(handler)), timeout);
      },
      token, std::move(service), std::move(query));
}

template <typename CompletionToken>
auto async_read(BlockClient& client, std::string service, Buffer query, raft::ReadMode mode,
                CompletionToken&& token) {
  return async_read(client, std::move(service), std::move(query), mode, Duration{},
                    std::forward<CompletionToken>(token));
}

}  // namespace cohort
