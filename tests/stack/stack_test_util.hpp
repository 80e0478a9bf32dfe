#pragma once
// Helpers for the stack/ unit tests: a manual Runtime (nothing runs until the test says so), a
// transport that records what reaches the bottom, a pass-through protocol that counts and logs
// its lifecycle, and a sink for the top of the stack.
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "stack/protocol.hpp"
#include "stack/protocol_stack.hpp"
#include "stack/runtime.hpp"
#include "stack/transport.hpp"

namespace cohort::test {

/// Posted work and timers run only in run_all(); time advances only through advance().
class ManualRuntime : public Runtime {
 public:
  Duration now() const override { return now_; }
  TimerHandle schedule(Duration delay, std::function<void()> fn) override {
    auto cancelled = std::make_shared<bool>(false);
    timers_.push_back({now_ + delay, cancelled, std::move(fn)});
    return TimerHandle(cancelled);
  }
  void post(std::function<void()> fn) override { posted_.push_back(std::move(fn)); }
  void offload(std::function<void()> work, std::function<void()> done) override {
    work();
    post(std::move(done));
  }
  std::mt19937_64& rng() override { return rng_; }
  bool in_loop() const override { return true; }

  /// Runs posted work until none is left.
  void run_all() {
    while (!posted_.empty()) {
      auto fn = std::move(posted_.front());
      posted_.pop_front();
      fn();
    }
  }
  /// Advances time and fires due timers (in deadline order), then runs posted work.
  void advance(Duration d) {
    now_ += d;
    for (bool fired = true; fired;) {
      fired = false;
      for (size_t i = 0; i < timers_.size(); ++i) {
        if (timers_[i].due > now_) continue;
        auto t = std::move(timers_[i]);
        timers_.erase(timers_.begin() + static_cast<long>(i));
        if (!*t.cancelled) t.fn();
        fired = true;
        break;
      }
    }
    run_all();
  }

 private:
  struct Timer {
    Duration due;
    std::shared_ptr<bool> cancelled;
    std::function<void()> fn;
  };
  Duration now_{0};
  std::deque<std::function<void()>> posted_;
  std::vector<Timer> timers_;
  std::mt19937_64 rng_{42};
};

/// Shared log of lifecycle calls ("init A", "start B", ...), in call order.
using Journal = std::vector<std::string>;

/// A transport that records messages reaching the bottom; inject() passes messages up.
class RecordingTransport : public Transport {
 public:
  explicit RecordingTransport(Journal* journal = nullptr, std::string name = "REC_TP")
      : Transport(std::move(name)), journal_(journal) {}
  void init() override { log("init"); }
  void start() override { log("start"); }
  void stop() override { log("stop"); }
  void destroy() override { log("destroy"); }
  void inject(Message m) { deliver(m); }
  void inject(MessageBatch& b) { deliver(b); }
  std::vector<Message> sent;
  int connects = 0, disconnects = 0;

 protected:
  void connect() override { ++connects; }
  void disconnect() override { ++disconnects; }
  void send_to_group(Message& m) override { sent.push_back(m); }
  void send_to_member(Message& m) override { sent.push_back(m); }

 private:
  void log(const char* what) {
    if (journal_) journal_->push_back(std::string(what) + " " + name());
  }
  Journal* journal_;
};

/// Passes everything through, counting messages each way and journaling its lifecycle.
class Counting : public Protocol {
 public:
  explicit Counting(std::string name, Journal* journal = nullptr)
      : Protocol(std::move(name)), journal_(journal) {}
  using Protocol::down;
  using Protocol::up;
  void init() override { log("init"); }
  void start() override { log("start"); }
  void stop() override { log("stop"); }
  void destroy() override { log("destroy"); }
  void down(Message& m) override {
    ++downs;
    Protocol::down(m);
  }
  void up(Message& m) override {
    ++ups;
    Protocol::up(m);
  }
  void up(MessageBatch& b) override {
    ups += static_cast<int>(b.size());
    Protocol::up(b);
  }
  int downs = 0, ups = 0;

 private:
  void log(const char* what) {
    if (journal_) journal_->push_back(std::string(what) + " " + name());
  }
  Journal* journal_;
};

/// The sink above the top protocol: collects what arrives.
class Sink : public Protocol {
 public:
  Sink() : Protocol("SINK") {}
  using Protocol::up;
  void up(Message& m) override { received.push_back(m); }
  void up(MessageBatch& b) override {
    ++batches;
    for (auto& m : b.messages)
      received.push_back(m);
  }
  std::any up(Event& ev) override {
    events.push_back(ev.type);
    return {};
  }
  std::vector<Message> received;
  std::vector<int> events;
  int batches = 0;
};

}  // namespace cohort::test
