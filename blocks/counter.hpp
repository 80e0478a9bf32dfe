#pragma once
// Counter: a named int64 counter over any BlockClient (RaftHandle inside a member, RemoteClient
// from outside), the client side of CounterService — JGroups' CounterService shape.
//
//   Counter c(handle, "requests");
//   c.increment_and_get([](std::error_code ec, int64_t v) { ... });
//
// Contract:
//  - Every write goes through the Raft log in this client's session: linearizable, and applied
//    exactly once however often CLIENT retries it. On `timeout` (raft::ClientErrc) the outcome is
//    unknown: the write may or may not have been applied.
//  - get() reads without a log entry, in the ReadMode given (linearizable by default; `stale`
//    may return an old value).
//  - A counter never set reads as 0; arithmetic wraps around (two's complement).
//  - Errors: raft::ClientErrc (no_leader, timeout, ...) or BlockStatus (block_errors.hpp).
//    The value is meaningful only when !ec.
//  - Callbacks run on the client's thread (the channel loop for RaftHandle): keep them short.
//    The Counter may be destroyed while operations are in flight (it holds no state they need);
//    the BlockClient must outlive them.
// Completion-token forms (callback, use_future, use_awaitable): counter_async.hpp.
#include <cstdint>
#include <functional>
#include <string>
#include <system_error>

#include "blocks/block_client.hpp"
#include "blocks/counter_codec.hpp"

namespace cohort {

class Counter {
 public:
  using ValueHandler = std::function<void(std::error_code, int64_t)>;
  using DoneHandler = std::function<void(std::error_code)>;
  using CasHandler = std::function<void(std::error_code, CasOutcome)>;

  /// `name`: 1..max_counter_name_bytes bytes. `service`: the CounterService's registry name.
  /// `timeout`: per operation (0 = CLIENT's default).
  Counter(BlockClient& client, std::string name, std::string service = "counter",
          Duration timeout = {});

  const std::string& name() const { return name_; }

  /// The current value, read in `mode` (no log entry).
  void get(raft::ReadMode mode, ValueHandler done);
  void get(ValueHandler done) { get(raft::ReadMode::linearizable, std::move(done)); }
  void set(int64_t value, DoneHandler done);
  /// Adds `delta`; gives the new value.
  void add_and_get(int64_t delta, ValueHandler done);
  void increment_and_get(ValueHandler done);
  void decrement_and_get(ValueHandler done);
  /// Sets `new_value` if the counter equals `expected`; gives whether it did and the value after.
  void compare_and_set(int64_t expected, int64_t new_value, CasHandler done);

 private:
  void submit_value(Buffer command, ValueHandler done);

  BlockClient& client_;
  std::string name_;
  std::string service_;
  Duration timeout_;
};

}  // namespace cohort
