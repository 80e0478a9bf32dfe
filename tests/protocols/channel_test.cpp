// Channel over LOOPBACK with AsioRuntime: views, unicast and group messages, the three completion
// styles of async_connect, and close. Waits use condition variables with generous timeouts.
#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/use_future.hpp>
#include <future>
#include <thread>

#include "stack/channel_async.hpp"
#include "tests/protocols/channel_util.hpp"

using namespace cohort;
using namespace cohort::test;

TEST_CASE("channel: two members see a view of 2, then 1 after one closes") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ia, ib;
  std::string cluster = unique_cluster("views");
  auto a = make_channel("A");
  auto b = make_channel("B");
  ia.attach(*a);
  ib.attach(*b);
  a->connect(cluster);
  REQUIRE(ia.wait_view_size(1));
  b->connect(cluster);
  REQUIRE(ia.wait_view_size(2));
  REQUIRE(ib.wait_view_size(2));
  View va = ia.last_view(), vb = ib.last_view();
  CHECK(va.members() == vb.members());
  CHECK(va.id() == vb.id());
  CHECK(va.coordinator() == a->address());  // join order
  CHECK(va.members()[1] == b->address());
  CHECK(va.to_string() == "[A, B] id=" + std::to_string(va.id().id));
  CHECK(a->view().size() == 2);
  CHECK(a->connected());
  CHECK(a->cluster() == cluster);
  CHECK(a->address().name() == "A");
  CHECK(a->address() != b->address());

  b->close();
  CHECK_FALSE(b->connected());
  REQUIRE(ia.wait_view_size(1));
  CHECK(ia.last_view().members() == std::vector<Address>{a->address()});
  CHECK(ia.last_view().id().id > va.id().id);
}

TEST_CASE("channel: unicast reaches one member, group messages reach everyone, self too") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ia, ib;
  std::string cluster = unique_cluster("send");
  auto a = make_channel("A");
  auto b = make_channel("B");
  ia.attach(*a);
  ib.attach(*b);
  a->connect(cluster);
  b->connect(cluster);
  REQUIRE(ia.wait_view_size(2));

  a->send(b->address(), Buffer::copy_of("to B"));
  REQUIRE(ib.wait_messages(1));
  auto got = ib.messages()[0];
  CHECK(got.payload().str() == "to B");
  CHECK(got.src() == a->address());
  CHECK(got.dest() == b->address());

  a->send(Address(), Buffer::copy_of("to all"));
  REQUIRE(ia.wait_messages(1));
  REQUIRE(ib.wait_messages(2));
  CHECK(ia.payloads() == std::vector<std::string>{"to all"});
  CHECK(ib.payloads() == std::vector<std::string>{"to B", "to all"});
  CHECK(ia.messages()[0].src() == a->address());
  CHECK(ia.messages()[0].is_group());
}

TEST_CASE("channel: messages from one sender arrive in order") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ib;
  std::string cluster = unique_cluster("fifo");
  auto a = make_channel("A");
  auto b = make_channel("B");
  ib.attach(*b);
  a->connect(cluster);
  b->connect(cluster);
  REQUIRE(ib.wait_view_size(2));
  constexpr int n = 2000;
  for (int i = 0; i < n; ++i)
    a->send(b->address(), Buffer::copy_of(std::to_string(i)));
  REQUIRE(ib.wait_messages(n));
  auto p = ib.payloads();
  for (int i = 0; i < n; ++i)
    CHECK(p[static_cast<size_t>(i)] == std::to_string(i));
}

TEST_CASE("channel: INTERNAL messages are not delivered to the application") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ia;
  std::string cluster = unique_cluster("internal");
  auto a = make_channel("A");
  ia.attach(*a);
  a->connect(cluster);
  Message internal(Address(), Buffer::copy_of("internal"));
  internal.set(Message::INTERNAL);
  a->send(internal);
  a->send(Address(), Buffer::copy_of("app"));
  REQUIRE(ia.wait_messages(1));  // "app" follows "internal" from the same sender
  CHECK(ia.payloads() == std::vector<std::string>{"app"});
}

TEST_CASE("channel: async_connect with a callback") {
  auto a = make_channel("A");
  std::promise<std::error_code> p;
  auto f = p.get_future();
  async_connect(*a, unique_cluster("cb"), [&](boost::system::error_code ec) {
    CHECK(a->runtime().in_loop());
    p.set_value(ec ? std::make_error_code(std::errc::io_error) : std::error_code());
  });
  REQUIRE(f.wait_for(patience) == std::future_status::ready);
  CHECK_FALSE(f.get());
  CHECK(a->connected());
}

TEST_CASE("channel: async_connect with use_future, and the error of a second connect") {
  auto a = make_channel("A");
  std::string cluster = unique_cluster("future");
  std::future<void> f = async_connect(*a, cluster, boost::asio::use_future);
  REQUIRE(f.wait_for(patience) == std::future_status::ready);
  CHECK_NOTHROW(f.get());
  CHECK(a->connected());
  std::future<void> again = async_connect(*a, cluster, boost::asio::use_future);
  REQUIRE(again.wait_for(patience) == std::future_status::ready);
  try {
    again.get();
    FAIL("a second connect succeeded");
  } catch (const boost::system::system_error& e) {
    CHECK(e.code().value() == static_cast<int>(std::errc::already_connected));
  }
  CHECK_THROWS_AS(a->connect(cluster), std::system_error);  // the blocking form throws too
}

TEST_CASE("channel: async_connect with use_awaitable resumes on the coroutine's io_context") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ib;
  auto a = make_channel("A");
  auto b = make_channel("B");
  ib.attach(*b);
  std::string cluster = unique_cluster("coro");
  boost::asio::io_context ctx;
  bool done = false;
  std::thread::id resumed_on;
  boost::asio::co_spawn(
      ctx,
      [&]() -> boost::asio::awaitable<void> {
        co_await async_connect(*a, cluster, boost::asio::use_awaitable);
        resumed_on = std::this_thread::get_id();
        co_await async_connect(*b, cluster, boost::asio::use_awaitable);
        bool threw = false;
        try {
          co_await async_connect(*b, cluster, boost::asio::use_awaitable);
        } catch (const boost::system::system_error&) {
          threw = true;
        }
        CHECK(threw);
        co_await async_invoke(
            *a,
            [&] {
              Message m(b->address(), Buffer::copy_of("from the loop"));
              a->stack().down(m);
            },
            boost::asio::use_awaitable);
        done = true;
      },
      boost::asio::detached);
  ctx.run();  // returns once the coroutine has finished
  CHECK(done);
  CHECK(resumed_on == std::this_thread::get_id());
  CHECK(a->connected());
  CHECK(b->connected());
  CHECK(ib.wait_messages(1));
}

TEST_CASE("channel: close is idempotent, sends after close are dropped") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ib;
  std::string cluster = unique_cluster("close");
  auto a = make_channel("A");
  a->close();  // never connected: fine
  CHECK_FALSE(a->connected());

  auto b = make_channel("B");
  ib.attach(*b);
  b->connect(cluster);
  b->close();
  b->close();
  CHECK_FALSE(b->connected());
  b->send(Address(), Buffer::copy_of("late"));
  b->invoke([] {});
  CHECK(ib.messages().empty());
  // Connecting a closed channel is refused.
  CHECK_THROWS_AS(b->connect(cluster), std::system_error);
}

TEST_CASE("channel: destroying a connected channel leaves the cluster") {
  // Inboxes first: they must outlive the channels whose loops write to them.
  Inbox ia;
  std::string cluster = unique_cluster("destroy");
  auto a = make_channel("A");
  ia.attach(*a);
  a->connect(cluster);
  {
    auto b = make_channel("B");
    b->connect(cluster);
    REQUIRE(ia.wait_view_size(2));
  }
  REQUIRE(ia.wait_view_size(1));
}

TEST_CASE("channel: invoke runs on the loop and waits") {
  auto a = make_channel("A");
  bool on_loop = false;
  a->invoke([&] { on_loop = a->runtime().in_loop(); });
  CHECK(on_loop);
}
