// RaftHandle's completion-token forms (blocks/raft_handle_async.hpp) on the simulated Raft
// stack: a callback, boost::asio::use_future and use_awaitable, for submit and read, with
// results and errors (which keep the ClientErrc category) checked.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/system/system_error.hpp>
#include <chrono>
#include <future>

#include "blocks/counter_codec.hpp"
#include "blocks/raft_handle_async.hpp"
#include "sim/blocks_cluster.hpp"
#include "sim/sim_seeds.hpp"

using namespace cohort;
using namespace cohort::test;

namespace {

template <class T>
bool ready(const std::future<T>& f) {
  return f.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

// Runs the simulation until `f` is ready (use_future completes inline on the loop).
template <class T>
void await(BlockCluster& c, const std::future<T>& f) {
  REQUIRE(c.world.run_until([&] { return ready(f); }, 10s));
}

int64_t value_of(const Buffer& result) {
  auto r = counter_codec::decode_value(result);
  REQUIRE(r.ok());
  return r.value;
}

}  // namespace

TEST_CASE("RaftHandle completion tokens: callback, use_future and use_awaitable for submit, read") {
  for (uint64_t seed : sim_seeds(60, 3)) {
    INFO("seed " << seed);
    BlockCluster c(seed);
    REQUIRE(c.world.run_until([&] { return c.leader() != nullptr; }, 5s));
    BlockNode* follower = c.follower();
    RaftHandle& h = *follower->handle;

    // Callback: runs once, with the result of the command.
    int calls = 0;
    int64_t got = -1;
    async_submit(h, "counter", counter_codec::add_and_get("t", 5),
                 [&](boost::system::error_code ec, Buffer result) {
                   ++calls;
                   CHECK(!ec);
                   got = counter_codec::decode_value(result).value;
                 });
    REQUIRE(c.world.run_until([&] { return calls > 0; }, 10s));
    c.world.run_for(100ms);
    CHECK(calls == 1);
    CHECK(got == 5);
    bool read_done = false;
    async_read(h, "counter", counter_codec::get("t"), raft::ReadMode::linearizable, 2s,
               [&](boost::system::error_code ec, raft::ReadOutcome o) {
                 CHECK(!ec);
                 got = counter_codec::decode_value(o.result).value;
                 CHECK(o.applied_index > 0);
                 read_done = true;
               });
    REQUIRE(c.world.run_until([&] { return read_done; }, 10s));
    CHECK(got == 5);

    // use_future: the future holds the result; the submit with a timeout too.
    auto f1 =
        async_submit(h, "counter", counter_codec::increment_and_get("t"), boost::asio::use_future);
    await(c, f1);
    CHECK(value_of(f1.get()) == 6);
    auto f2 = async_submit(h, "counter", counter_codec::add_and_get("t", 10), 5s,
                           boost::asio::use_future);
    await(c, f2);
    CHECK(value_of(f2.get()) == 16);
    raft::Index committed = c.leader()->status().commit_index;
    auto f3 = async_read(h, "counter", counter_codec::get("t"), raft::ReadMode::linearizable,
                         boost::asio::use_future);
    await(c, f3);
    raft::ReadOutcome o3 = f3.get();
    CHECK(value_of(o3.result) == 16);
    CHECK(o3.commit_lag == 0);
    CHECK(o3.applied_index >= committed);  // ReadIndex: at least what was committed before

    // use_awaitable: a coroutine on an io_context, driven between simulation steps.
    boost::asio::io_context io;
    bool finished = false;
    int64_t after_set = -1, lin_value = -1, stale_value = -1, lease_value = -1;
    raft::ReadOutcome lin, stale;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          Buffer r = co_await async_submit(h, "counter", counter_codec::set("t", 100),
                                           boost::asio::use_awaitable);
          CHECK(counter_codec::decode_empty(r).ok());
          r = co_await async_submit(h, "counter", counter_codec::decrement_and_get("t"), 5s,
                                    boost::asio::use_awaitable);
          after_set = counter_codec::decode_value(r).value;
          lin = co_await async_read(h, "counter", counter_codec::get("t"),
                                    raft::ReadMode::linearizable, boost::asio::use_awaitable);
          lin_value = counter_codec::decode_value(lin.result).value;
          // This member has applied at least up to the read index above: a stale read here
          // now sees the same state or later.
          stale = co_await async_read(h, "counter", counter_codec::get("t"), raft::ReadMode::stale,
                                      1s, boost::asio::use_awaitable);
          stale_value = counter_codec::decode_value(stale.result).value;
          raft::ReadOutcome o =
              co_await async_read(h, "counter", counter_codec::get("t"), raft::ReadMode::lease,
                                  boost::asio::use_awaitable);
          lease_value = counter_codec::decode_value(o.result).value;
          finished = true;
        },
        boost::asio::detached);
    REQUIRE(run_with_io(c.world, io, finished));
    CHECK(after_set == 99);
    CHECK(lin_value == 99);
    CHECK(stale_value == 99);
    CHECK(stale.applied_index >= lin.applied_index);
    CHECK(lease_value == 99);

    // Errors: no leader anywhere. Each form reports ClientErrc, category intact.
    c.world.network().partition({{"A"}, {"B"}, {"C"}});
    c.world.run_for(2s);  // check-quorum: the leader steps down
    auto is_no_leader_or_timeout = [](std::error_code e) {
      return e == raft::ClientErrc::no_leader || e == raft::ClientErrc::timeout;
    };
    std::error_code cb_err;
    bool cb_done = false;
    async_submit(h, "counter", counter_codec::increment_and_get("t"), 1s,
                 [&](boost::system::error_code ec, Buffer) {
                   cb_err = to_std_error(ec);
                   cb_done = true;
                 });
    REQUIRE(c.world.run_until([&] { return cb_done; }, 10s));
    CHECK(is_no_leader_or_timeout(cb_err));
    CHECK(cb_err.category() == raft::client_category());

    auto f4 = async_read(h, "counter", counter_codec::get("t"), raft::ReadMode::linearizable, 1s,
                         boost::asio::use_future);
    await(c, f4);
    std::error_code future_err;
    try {
      f4.get();
    } catch (const boost::system::system_error& e) {
      future_err = to_std_error(e.code());
    }
    CHECK(is_no_leader_or_timeout(future_err));

    bool thrown = false;
    std::error_code awaited_err;
    finished = false;
    boost::asio::co_spawn(
        io,
        [&]() -> boost::asio::awaitable<void> {
          try {
            co_await async_submit(h, "counter", counter_codec::increment_and_get("t"), 1s,
                                  boost::asio::use_awaitable);
          } catch (const boost::system::system_error& e) {
            thrown = true;
            awaited_err = to_std_error(e.code());
          }
          finished = true;
        },
        boost::asio::detached);
    REQUIRE(run_with_io(c.world, io, finished));
    CHECK(thrown);
    CHECK(is_no_leader_or_timeout(awaited_err));

    // Healed: the forms work again. A timed-out command's outcome is unknown (it may still be
    // applied), so the value is 99 plus at most the two failed increments.
    c.world.network().heal();
    REQUIRE(c.world.run_until([&] { return c.leader() != nullptr; }, 10s));
    auto f5 = async_submit(h, "counter", counter_codec::add_and_get("t", 0), 30s,
                           boost::asio::use_future);
    await(c, f5);
    int64_t final_value = value_of(f5.get());
    CHECK(final_value >= 99);
    CHECK(final_value <= 101);
  }
}
