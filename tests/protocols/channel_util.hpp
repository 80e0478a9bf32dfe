#pragma once
// Helpers for channel tests over LOOPBACK with AsioRuntime: stacks built by hand, an inbox that
// collects messages and views and lets the test wait for a condition (generous timeout, no
// timing assertions), unique cluster names so tests never see each other's members.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "protocols/loopback.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/channel.hpp"
#include "stack/protocol_stack.hpp"

namespace cohort::test {

inline constexpr auto patience = std::chrono::seconds(10);

/// A protocol that passes everything through (for tall stacks).
class PassThrough : public Protocol {
 public:
  explicit PassThrough(std::string name = "PASS") : Protocol(std::move(name)) {}
};

/// "prefix-N", unique within the process.
inline std::string unique_cluster(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + std::to_string(++n);
}

/// LOOPBACK at the bottom, then `above` (bottom first); initialised, on its own AsioRuntime.
/// Each runtime gets its own seed (addresses are drawn from it, so equal seeds = equal UUIDs).
inline std::unique_ptr<ProtocolStack> make_stack(
    std::vector<std::unique_ptr<Protocol>> above = {}) {
  static std::atomic<uint64_t> next_seed{1000};
  auto stack = std::make_unique<ProtocolStack>(std::make_shared<AsioRuntime>(++next_seed));
  stack->add(std::make_unique<Loopback>());
  for (auto& p : above)
    stack->add(std::move(p));
  stack->init();
  return stack;
}

inline std::unique_ptr<Channel> make_channel(const std::string& name,
                                             std::vector<std::unique_ptr<Protocol>> above = {}) {
  auto ch = std::make_unique<Channel>(make_stack(std::move(above)));
  ch->set_name(name);
  return ch;
}

/// Collects what a channel delivers; the handlers run on the channel's loop.
class Inbox {
 public:
  void attach(Channel& ch) {
    ch.on_message([this](Message& m) {
      std::lock_guard lock(mu_);
      messages_.push_back(m);
      cv_.notify_all();
    });
    ch.on_view([this](const View& v) {
      std::lock_guard lock(mu_);
      views_.push_back(v);
      cv_.notify_all();
    });
  }
  /// Waits until pred() (called under the lock) holds; false on timeout.
  bool wait(const std::function<bool()>& pred) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, patience, pred);
  }
  bool wait_messages(size_t n) {
    return wait([&] { return messages_.size() >= n; });
  }
  bool wait_view_size(size_t n) {
    return wait([&] { return !views_.empty() && views_.back().size() == n; });
  }
  std::vector<Message> messages() {
    std::lock_guard lock(mu_);
    return messages_;
  }
  std::vector<std::string> payloads() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (auto& m : messages_)
      out.push_back(m.payload().str());
    return out;
  }
  View last_view() {
    std::lock_guard lock(mu_);
    return views_.empty() ? View() : views_.back();
  }
  void clear() {
    std::lock_guard lock(mu_);
    messages_.clear();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Message> messages_;
  std::vector<View> views_;
};

/// Builds a vector of protocols from unique_ptrs (initializer lists cannot hold move-only types).
template <typename... Ps>
std::vector<std::unique_ptr<Protocol>> protocols(std::unique_ptr<Ps>... ps) {
  std::vector<std::unique_ptr<Protocol>> v;
  (v.push_back(std::move(ps)), ...);
  return v;
}

}  // namespace cohort::test
