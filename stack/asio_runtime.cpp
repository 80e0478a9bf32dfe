#include "stack/asio_runtime.hpp"

#include <pthread.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace cohort {

namespace asio = boost::asio;

struct AsioRuntime::Impl {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard = asio::make_work_guard(io);
  std::thread loop;
  std::thread::id loop_id;
  std::mt19937_64 rng;
  std::chrono::steady_clock::time_point epoch = std::chrono::steady_clock::now();

  // The offload worker: FIFO so that a sync submitted after an append covers it.
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::pair<std::function<void()>, std::function<void()>>> work;
  std::thread worker;
  bool stopping = false;
  bool shut_down = false;

  void worker_main() {
    for (;;) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping || !work.empty(); });
      if (work.empty()) return;
      auto [fn, done] = std::move(work.front());
      work.pop_front();
      lock.unlock();
      fn();
      asio::post(io, std::move(done));
    }
  }
};

AsioRuntime::AsioRuntime(uint64_t seed, std::string name) : impl_(std::make_unique<Impl>()) {
  impl_->rng.seed(seed ? seed : (uint64_t(std::random_device{}()) << 32) ^ std::random_device{}());
  impl_->loop = std::thread([this, name] {
    pthread_setname_np(pthread_self(), name.substr(0, 15).c_str());
    impl_->io.run();
  });
  impl_->loop_id = impl_->loop.get_id();
}

AsioRuntime::~AsioRuntime() {
  shutdown();
}

void AsioRuntime::shutdown() {
  if (impl_->shut_down) return;
  impl_->shut_down = true;
  {
    std::lock_guard lock(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->worker.joinable()) impl_->worker.join();
  impl_->guard.reset();
  impl_->io.stop();
  if (impl_->loop.joinable()) impl_->loop.join();
}

Duration AsioRuntime::now() const {
  return std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - impl_->epoch);
}

TimerHandle AsioRuntime::schedule(Duration delay, std::function<void()> fn) {
  auto cancelled = std::make_shared<bool>(false);
  auto timer = std::make_shared<asio::steady_timer>(impl_->io, delay);
  timer->async_wait([timer, cancelled, fn = std::move(fn)](const boost::system::error_code&) {
    if (!*cancelled) fn();
  });
  return TimerHandle(cancelled);
}

void AsioRuntime::post(std::function<void()> fn) {
  asio::post(impl_->io, std::move(fn));
}

void AsioRuntime::offload(std::function<void()> work, std::function<void()> done) {
  std::lock_guard lock(impl_->mu);
  if (!impl_->worker.joinable() && !impl_->stopping)
    impl_->worker = std::thread([this] { impl_->worker_main(); });
  impl_->work.emplace_back(std::move(work), std::move(done));
  impl_->cv.notify_one();
}

std::mt19937_64& AsioRuntime::rng() {
  return impl_->rng;
}

bool AsioRuntime::in_loop() const {
  return std::this_thread::get_id() == impl_->loop_id;
}

asio::io_context& AsioRuntime::io_context() {
  return impl_->io;
}

}  // namespace cohort
