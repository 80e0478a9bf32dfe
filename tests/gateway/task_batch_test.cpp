// TaskBatch: tasks pushed before the drain runs share one post; every task runs once, in order.
#include <doctest/doctest.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/task_batch.hpp"

using cohort::gateway::TaskBatch;

TEST_CASE("task batch: one post per batch and every task in order") {
  std::deque<std::function<void()>> posted;
  TaskBatch batch([&](std::function<void()> f) { posted.push_back(std::move(f)); });
  std::vector<int> ran;
  for (int i = 0; i < 5; ++i)
    batch.push([&ran, i] { ran.push_back(i); });
  REQUIRE(posted.size() == 1);
  posted.front()();
  posted.pop_front();
  CHECK(ran == std::vector<int>{0, 1, 2, 3, 4});
  batch.push([&ran] { ran.push_back(5); });  // a new batch posts again
  REQUIRE(posted.size() == 1);
  posted.front()();
  CHECK(ran.size() == 6);
}

TEST_CASE("task batch: pushes from many threads all run") {
  std::mutex mu;
  std::deque<std::function<void()>> posted;
  TaskBatch batch([&](std::function<void()> f) {
    std::lock_guard lock(mu);
    posted.push_back(std::move(f));
  });
  std::atomic<int> count{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i)
        batch.push([&count] { ++count; });
    });
  // The consumer: drains whatever was posted until every task ran.
  while (count < 4000) {
    std::function<void()> drain;
    {
      std::lock_guard lock(mu);
      if (!posted.empty()) {
        drain = std::move(posted.front());
        posted.pop_front();
      }
    }
    if (drain)
      drain();
    else
      std::this_thread::yield();
  }
  for (auto& t : threads)
    t.join();
  CHECK(count == 4000);
}

TEST_CASE("task batch: after_drain runs once after each batch's tasks") {
  std::deque<std::function<void()>> posted;
  std::vector<std::string> log;
  TaskBatch batch([&](std::function<void()> f) { posted.push_back(std::move(f)); },
                  [&log] { log.push_back("after"); });
  batch.push([&log] { log.push_back("a"); });
  batch.push([&log] { log.push_back("b"); });
  REQUIRE(posted.size() == 1);
  posted.front()();
  posted.pop_front();
  CHECK(log == std::vector<std::string>{"a", "b", "after"});
  batch.push([&log] { log.push_back("c"); });
  REQUIRE(posted.size() == 1);
  posted.front()();
  CHECK(log == std::vector<std::string>{"a", "b", "after", "c", "after"});
}
