// `cohort perf stack [--messages N] [--size BYTES]`: the message-path benchmark. Two channels over
// LOOPBACK, each with a 10-protocol stack (LOOPBACK, DISCARD, DELAY and 7 pass-through layers),
// one sending unicasts to the other from its own loop in bursts. Prints messages/s and MB/s for
// payloads of 0 B, 1 KiB and 64 KiB (or just --size), and how many payloads arrived in different
// storage than they were sent in (payload copies; expected 0).
//
// Flow control: the sender keeps at most `window` messages in flight (sent, not yet delivered),
// well below LOOPBACK's max_inbox, so nothing is dropped and memory stays bounded.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "protocols/delay.hpp"
#include "protocols/discard.hpp"
#include "protocols/loopback.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/channel.hpp"
#include "tools/commands.hpp"

namespace cohort::tools {

namespace {

class PassThrough : public Protocol {
 public:
  explicit PassThrough(std::string name) : Protocol(std::move(name)) {}
};

constexpr size_t stack_height = 10;
constexpr size_t pool_size = 16;           ///< distinct payload buffers, sent round-robin
constexpr uint64_t window_msgs = 100'000;  ///< messages in flight at most
constexpr uint64_t burst_msgs = 1'000;     ///< messages sent per turn of the sender's loop
constexpr auto patience = std::chrono::minutes(5);

std::unique_ptr<Channel> make_channel(const std::string& name) {
  auto stack = std::make_unique<ProtocolStack>(std::make_shared<AsioRuntime>(0, "perf-" + name));
  stack->add(std::make_unique<Loopback>());
  stack->add(std::make_unique<Discard>());
  stack->add(std::make_unique<Delay>());
  while (stack->protocols().size() < stack_height)
    stack->add(std::make_unique<PassThrough>(fmt::format("PASS{}", stack->protocols().size())));
  stack->init();
  auto ch = std::make_unique<Channel>(std::move(stack));
  ch->set_name(name);
  return ch;
}

struct Result {
  double seconds = 0;
  uint64_t received = 0;
  uint64_t copies = 0;
  uint64_t dropped = 0;
};

// Sends `count` messages of `size` bytes from A to B; returns when B has received them all.
Result run(uint64_t count, size_t size) {
  static std::atomic<int> run_id{0};
  std::string cluster = fmt::format("perf-stack-{}-{}", getpid(), ++run_id);
  auto a = make_channel("A");
  auto b = make_channel("B");

  std::array<Buffer, pool_size> pool;
  for (auto& p : pool)
    p = Buffer(std::vector<uint8_t>(size, 0x5a));

  // Receiver state: touched on B's loop only, except `received` (read by the sender).
  std::atomic<uint64_t> received{0};
  uint64_t copies = 0;
  std::promise<std::chrono::steady_clock::time_point> all_received;
  b->on_message([&](Message& m) {
    uint64_t i = received.load(std::memory_order_relaxed);
    // One sender, delivered in order: message i carries pool[i % pool_size].
    if (m.payload().storage() != pool[i % pool_size].storage()) ++copies;
    received.store(i + 1, std::memory_order_release);
    if (i + 1 == count) all_received.set_value(std::chrono::steady_clock::now());
  });

  std::mutex mu;
  std::condition_variable cv;
  size_t view_a = 0, view_b = 0;
  a->on_view([&](const View& v) {
    std::lock_guard lock(mu);
    view_a = v.size();
    cv.notify_all();
  });
  b->on_view([&](const View& v) {
    std::lock_guard lock(mu);
    view_b = v.size();
    cv.notify_all();
  });
  a->connect(cluster);
  b->connect(cluster);
  {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, patience, [&] { return view_a == 2 && view_b == 2; }))
      throw std::runtime_error("the two channels did not see each other");
  }

  Address dest = b->address();
  uint64_t sent = 0;  // on A's loop only
  std::function<void()> burst = [&] {
    uint64_t limit = std::min(count, received.load(std::memory_order_acquire) + window_msgs);
    for (uint64_t n = 0; sent < limit && n < burst_msgs; ++n, ++sent) {
      Message m(dest, pool[sent % pool_size]);
      a->stack().down(m);
    }
    if (sent < count) a->runtime().post(burst);
  };
  auto done = all_received.get_future();
  auto start = std::chrono::steady_clock::now();
  a->runtime().post(burst);
  if (done.wait_for(patience) != std::future_status::ready)
    throw std::runtime_error(
        fmt::format("timed out: {} of {} messages received", received.load(), count));
  auto end = done.get();

  Result r;
  r.seconds = std::chrono::duration<double>(end - start).count();
  r.received = received.load();
  a->invoke([&] { r.dropped = a->stack().bottom()->stat("dropped"); });
  b->invoke([&] { r.copies = copies; });
  a->close();
  b->close();
  return r;
}

std::string size_label(size_t size) {
  if (size >= 1024 && size % 1024 == 0) return fmt::format("{} KiB", size / 1024);
  return fmt::format("{} B", size);
}

}  // namespace

void add_perf_stack_command(CLI::App& app) {
  CLI::App* perf = nullptr;
  for (auto* sc : app.get_subcommands([](CLI::App* c) { return c->get_name() == "perf"; }))
    perf = sc;
  if (!perf) {
    perf = app.add_subcommand("perf", "Benchmarks that print figures");
    perf->require_subcommand(1);
  }
  struct Options {
    uint64_t messages = 1'000'000;
    std::vector<size_t> sizes;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = perf->add_subcommand("stack",
                                   "Message path: two channels over LOOPBACK through 10 protocols");
  cmd->add_option("--messages", options->messages, "Messages per payload size")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--size", options->sizes,
                  "Payload size in bytes; may be repeated (default: 0, 1024 and 65536)");
  cmd->callback([options] {
    std::vector<size_t> sizes = options->sizes;
    if (sizes.empty()) sizes = {0, 1024, 65536};
    fmt::print(
        "cohort perf stack: 2 channels over LOOPBACK, {} protocols each, {} messages A->B "
        "per payload size\n",
        stack_height, options->messages);
    run(std::max<uint64_t>(options->messages / 10, 1000), 1024);  // warm-up, not printed
    fmt::print("{:>8}  {:>12}  {:>10}  {:>8}  {:>14}  {:>7}\n", "payload", "messages/s", "MB/s",
               "seconds", "payload copies", "dropped");
    for (size_t size : sizes) {
      Result r = run(options->messages, size);
      double rate = static_cast<double>(r.received) / r.seconds;
      fmt::print("{:>8}  {:>12.0f}  {:>10.1f}  {:>8.3f}  {:>14}  {:>7}\n", size_label(size), rate,
                 rate * static_cast<double>(size) / 1e6, r.seconds, r.copies, r.dropped);
    }
  });
}

}  // namespace cohort::tools
