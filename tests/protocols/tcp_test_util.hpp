#pragma once
// Helpers for the TCP and discovery tests: channels on their own AsioRuntime over TCP (ports from
// the kernel unless a test fixes them), a thread-safe record of what each delivers, polling waits
// with a generous timeout (no timing assertions), and reading stats on the channel's loop.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "protocols/tcp.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/channel.hpp"
#include "stack/protocol_stack.hpp"

namespace cohort::test {

inline constexpr auto net_patience = std::chrono::seconds(15);

/// Polls pred every 10 ms until it holds or `patience` passes.
inline bool eventually(const std::function<bool()>& pred,
                       std::chrono::milliseconds patience = net_patience) {
  auto deadline = std::chrono::steady_clock::now() + patience;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

inline std::string unique_net_cluster(const std::string& prefix) {
  static std::atomic<int> n{0};
  return prefix + "-" + std::to_string(++n);
}

/// A channel plus what it received.
struct NetNode {
  std::unique_ptr<Channel> ch;
  std::mutex mu;
  std::vector<std::string> payloads;
  std::vector<Address> senders;
  std::vector<View> views;
  std::atomic<size_t> received{0};

  /// Builds protocols bottom first: `protocols` are created and configured by the caller.
  void open(const std::string& name, std::vector<std::unique_ptr<Protocol>> protocols) {
    static std::atomic<uint64_t> seed{5000};
    auto stack = std::make_unique<ProtocolStack>(std::make_shared<AsioRuntime>(++seed, name));
    for (auto& p : protocols)
      stack->add(std::move(p));
    stack->init();
    ch = std::make_unique<Channel>(std::move(stack));
    ch->set_name(name);
    ch->on_message([this](Message& m) {
      std::lock_guard lock(mu);
      payloads.push_back(m.payload().str());
      senders.push_back(m.src());
      ++received;
    });
    ch->on_view([this](const View& v) {
      std::lock_guard lock(mu);
      views.push_back(v);
    });
  }
  Tcp& tcp() { return *ch->stack().find<Tcp>(); }
  /// A stat of protocol `protocol`, read on the loop.
  uint64_t stat(const std::string& protocol, const std::string& name) {
    uint64_t v = 0;
    ch->invoke([&] { v = ch->stack().find(protocol)->stat(name); });
    return v;
  }
  size_t open_connections() {
    size_t n = 0;
    ch->invoke([&] { n = tcp().open_connections(); });
    return n;
  }
  View last_view() {
    std::lock_guard lock(mu);
    return views.empty() ? View() : views.back();
  }
  size_t count_of(const std::string& payload) {
    std::lock_guard lock(mu);
    return static_cast<size_t>(std::count(payloads.begin(), payloads.end(), payload));
  }
};

/// A TCP protocol with attributes set from text (bind_port=0 unless given).
inline std::unique_ptr<Tcp> make_tcp(std::map<std::string, std::string> attrs = {}) {
  auto t = std::make_unique<Tcp>();
  if (!attrs.contains("bind_port")) attrs["bind_port"] = "0";
  for (auto& [k, v] : attrs)
    if (auto err = t->set_attribute(k, v); !err.empty())
      throw std::invalid_argument(k + ": " + err);
  return t;
}

}  // namespace cohort::test
