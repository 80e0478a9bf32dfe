// `cohort perf encrypt [--messages N] [--size BYTES]`: the cost of SYM_ENCRYPT. Two channels over
// LOOPBACK, one sending unicasts of --size bytes (default 1 KiB) to the other, first with a plain
// stack (LOOPBACK), then with LOOPBACK + SYM_ENCRYPT (XChaCha20-Poly1305 on every message, headers
// included). Prints messages/s and MB/s of each and the ratio.
//
// Flow control as in `cohort perf stack`: at most `window_msgs` messages in flight.
#include <fmt/format.h>
#include <sodium.h>
#include <CLI/CLI.hpp>

#include <unistd.h>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>

#include "protocols/loopback.hpp"
#include "protocols/sym_encrypt.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/channel.hpp"
#include "tools/commands.hpp"

namespace cohort::tools {

namespace {

constexpr uint64_t window_msgs = 20'000;  ///< messages in flight at most
constexpr uint64_t burst_msgs = 1'000;    ///< messages sent per turn of the sender's loop
constexpr auto patience = std::chrono::minutes(5);

constexpr const char* key_env = "COHORT_PERF_ENCRYPT_KEY";

std::unique_ptr<Channel> make_channel(const std::string& name, bool encrypt) {
  auto stack = std::make_unique<ProtocolStack>(std::make_shared<AsioRuntime>(0, "perf-" + name));
  stack->add(std::make_unique<Loopback>());
  if (encrypt) {
    auto enc = std::make_unique<SymEncrypt>();
    enc->set_attribute("key_env", key_env);  // init() reads the key
    stack->add(std::move(enc));
  }
  stack->init();
  auto ch = std::make_unique<Channel>(std::move(stack));
  ch->set_name(name);
  return ch;
}

struct Result {
  double seconds = 0;
  uint64_t received = 0;
  uint64_t failed = 0;  ///< SYM_ENCRYPT drops at the receiver (expected 0)
};

Result run(uint64_t count, size_t size, bool encrypt) {
  static std::atomic<int> run_id{0};
  std::string cluster = fmt::format("perf-encrypt-{}-{}", getpid(), ++run_id);
  auto a = make_channel("A", encrypt);
  auto b = make_channel("B", encrypt);
  Buffer payload(std::vector<uint8_t>(size, 0x5a));

  std::atomic<uint64_t> received{0};
  std::promise<std::chrono::steady_clock::time_point> all_received;
  b->on_message([&](Message&) {
    uint64_t i = received.load(std::memory_order_relaxed) + 1;
    received.store(i, std::memory_order_release);
    if (i == count) all_received.set_value(std::chrono::steady_clock::now());
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
      Message m(dest, payload);
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
  Result r;
  r.seconds = std::chrono::duration<double>(done.get() - start).count();
  r.received = received.load();
  if (encrypt)
    b->invoke([&] {
      auto* enc = b->stack().find<SymEncrypt>();
      r.failed = enc->stat("decrypt_failed") + enc->stat("unknown_key_version") +
                 enc->stat("unencrypted_dropped") + enc->stat("malformed");
    });
  a->close();
  b->close();
  return r;
}

}  // namespace

void add_perf_encrypt_command(CLI::App& app) {
  CLI::App* perf = nullptr;
  for (auto* sc : app.get_subcommands([](CLI::App* c) { return c->get_name() == "perf"; }))
    perf = sc;
  if (!perf) {
    perf = app.add_subcommand("perf", "Benchmarks that print figures");
    perf->require_subcommand(1);
  }
  struct Options {
    uint64_t messages = 200'000;
    size_t size = 1024;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = perf->add_subcommand(
      "encrypt", "SYM_ENCRYPT overhead: messages/s over LOOPBACK with and without encryption");
  cmd->add_option("--messages", options->messages, "Messages per run")->check(CLI::PositiveNumber);
  cmd->add_option("--size", options->size, "Payload size in bytes (default 1024)");
  cmd->callback([options] {
    if (sodium_init() < 0) throw std::runtime_error("libsodium failed to initialise");
    // A throw-away key for the benchmark, handed to SYM_ENCRYPT through the environment.
    std::array<uint8_t, SymEncrypt::key_bytes> key;
    randombytes_buf(key.data(), key.size());
    std::string hex(2 * key.size() + 1, '\0');
    sodium_bin2hex(hex.data(), hex.size(), key.data(), key.size());
    hex.pop_back();
    ::setenv(key_env, hex.c_str(), 1);

    fmt::print("cohort perf encrypt: 2 channels over LOOPBACK, {} unicasts of {} B A->B\n",
               options->messages, options->size);
    run(std::max<uint64_t>(options->messages / 10, 1000), options->size, false);  // warm-up
    run(std::max<uint64_t>(options->messages / 10, 1000), options->size, true);
    fmt::print("{:>22}  {:>12}  {:>8}  {:>8}  {:>7}\n", "stack", "messages/s", "MB/s", "seconds",
               "dropped");
    double plain_rate = 0;
    for (bool encrypt : {false, true}) {
      Result r = run(options->messages, options->size, encrypt);
      double rate = static_cast<double>(r.received) / r.seconds;
      if (!encrypt) plain_rate = rate;
      fmt::print("{:>22}  {:>12.0f}  {:>8.1f}  {:>8.3f}  {:>7}\n",
                 encrypt ? "LOOPBACK+SYM_ENCRYPT" : "LOOPBACK", rate,
                 rate * static_cast<double>(options->size) / 1e6, r.seconds, r.failed);
      if (encrypt)
        fmt::print("SYM_ENCRYPT runs at {:.0f}% of the plain rate ({:.2f} us per message more)\n",
                   100 * rate / plain_rate, 1e6 / rate - 1e6 / plain_rate);
    }
    ::unsetenv(key_env);
  });
}

}  // namespace cohort::tools
