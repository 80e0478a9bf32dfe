// `cohort perf net --transport tcp [--size N] [--count C]`: throughput of the TCP transport
// between two channels, each on its own loop thread, next to plain Asio sockets doing the same in
// the same run. Prints messages/s and MB/s; asserts nothing. With --two-process the sender and the
// receiver are two processes (tools/perf_net_process.cpp), for TCP and UDP.
//
//   cohort (TCP)     channel.send() of C messages of N bytes to the other member, with a window of
//                    at most 4 MB in flight (the receiver's count is the ack), so the bounded send
//                    queue never drops.
//   asio 1 write/msg a blocking socket writing each message (u32 length + payload) in one write;
//                    the receiver reads 64 KB at a time and splits messages by their lengths.
//   asio batched     the same stream, written 64 KB at a time (the best a socket can do).
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "protocols/tcp.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/channel.hpp"
#include "tools/commands.hpp"
#include "tools/perf_net_process.hpp"
#include "tools/perf_net_udp.hpp"

namespace cohort::tools {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using Clock = std::chrono::steady_clock;

struct Result {
  double seconds = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;
};

void print(const char* what, size_t size, const Result& r, const Result* baseline) {
  double mps = r.messages / r.seconds, mbps = r.bytes / r.seconds / 1e6;
  std::string vs = baseline ? fmt::format("  ({:.0f}% of asio 1 write/msg)",
                                          100.0 * baseline->seconds / r.seconds)
                            : std::string();
  fmt::print("  {:<18} {:>7} B  {:>10.0f} msg/s  {:>8.1f} MB/s{}\n", what, size, mps, mbps, vs);
}

std::unique_ptr<Channel> tcp_channel(const std::string& name) {
  auto stack = std::make_unique<ProtocolStack>(std::make_shared<AsioRuntime>(0, name));
  auto t = std::make_unique<Tcp>();
  t->set_attribute("bind_port", "0");
  stack->add(std::move(t));
  stack->init();
  auto ch = std::make_unique<Channel>(std::move(stack));
  ch->set_name(name);
  return ch;
}

Result run_cohort(size_t size, uint64_t count) {
  auto sender = tcp_channel("perf-S");
  auto receiver = tcp_channel("perf-R");
  // The receiver's count is the ack; the sender sleeps (rather than spins: the loops need the
  // cores) until a quarter of the window has been received.
  std::atomic<uint64_t> received{0};
  std::mutex mu;
  std::condition_variable cv;
  const uint64_t window = std::max<uint64_t>(16, (4u << 20) / (size + 64));
  const uint64_t step = std::max<uint64_t>(1, window / 4);
  receiver->on_message([&](Message&) {
    uint64_t n = received.fetch_add(1, std::memory_order_relaxed) + 1;
    if (n % step == 0 || n == count) {
      std::lock_guard lock(mu);
      cv.notify_one();
    }
  });
  sender->connect("perf-net");
  receiver->connect("perf-net");
  std::string phys;
  receiver->invoke([&] { phys = receiver->stack().find<Tcp>()->physical_address(); });
  Address r = receiver->address();
  sender->invoke([&] {
    Event ev(event::add_physical_address, std::pair<Address, std::string>(r, phys));
    sender->stack().down(ev);
  });
  Buffer payload = Buffer::copy_of(std::string(size, 'x'));
  // Warm up: the connection is open before the clock starts.
  sender->send(r, payload);
  while (received.load() < 1)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  received = 0;
  auto start = Clock::now();
  for (uint64_t i = 0; i < count; ++i) {
    if (i - received.load(std::memory_order_relaxed) >= window) {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return i - received.load() + step <= window; });
    }
    sender->send(r, payload);
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return received.load() >= count; });
  }
  Result res{std::chrono::duration<double>(Clock::now() - start).count(), count, count * size};
  uint64_t dropped = 0, frames = 0, writes = 0;
  sender->invoke([&] {
    auto* t = sender->stack().find<Tcp>();
    dropped = t->stat("dropped");
    frames = t->stat("frames_sent");
    writes = t->stat("writes");
  });
  if (dropped) fmt::print("  (cohort dropped {} messages)\n", dropped);
  fmt::print("  (cohort: {} messages in {} frames, {} writes)\n", count + 1, frames, writes);
  sender->close();
  receiver->close();
  return res;
}

/// Plain Asio: blocking sockets, one thread each side.
Result run_asio(size_t size, uint64_t count, bool batched) {
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  auto ep = acc.local_endpoint();
  std::atomic<uint64_t> received{0};
  std::thread rx([&] {
    tcp::socket s(io);
    acc.accept(s);
    std::vector<uint8_t> buf(64 * 1024 + size + 4);
    size_t have = 0;
    boost::system::error_code ec;
    uint64_t n = 0;
    while (n < count) {
      have += s.read_some(asio::buffer(buf.data() + have, buf.size() - have), ec);
      if (ec) break;
      size_t pos = 0;
      while (have - pos >= 4) {
        uint32_t len;
        std::memcpy(&len, buf.data() + pos, 4);
        if (have - pos - 4 < len) break;
        pos += 4 + len;
        ++n;
      }
      std::memmove(buf.data(), buf.data() + pos, have - pos);
      have -= pos;
      received.store(n, std::memory_order_relaxed);
    }
  });
  tcp::socket s(io);
  s.connect(ep);
  s.set_option(tcp::no_delay(true));
  std::string payload(size, 'x');
  uint32_t len = static_cast<uint32_t>(size);
  auto start = Clock::now();
  if (!batched) {
    for (uint64_t i = 0; i < count; ++i) {
      std::array<asio::const_buffer, 2> bufs{asio::buffer(&len, 4), asio::buffer(payload)};
      asio::write(s, bufs);
    }
  } else {
    std::vector<uint8_t> chunk;
    chunk.reserve(64 * 1024 + size + 4);
    for (uint64_t i = 0; i < count; ++i) {
      chunk.insert(chunk.end(), reinterpret_cast<uint8_t*>(&len),
                   reinterpret_cast<uint8_t*>(&len) + 4);
      chunk.insert(chunk.end(), payload.begin(), payload.end());
      if (chunk.size() >= 64 * 1024 || i + 1 == count) {
        asio::write(s, asio::buffer(chunk));
        chunk.clear();
      }
    }
  }
  rx.join();
  return {std::chrono::duration<double>(Clock::now() - start).count(), received.load(),
          received.load() * size};
}

uint64_t default_count(size_t size) {
  // About 200 MB or 500k messages, whichever is fewer: a few seconds per run.
  return std::max<uint64_t>(1000, std::min<uint64_t>(500'000, (200u << 20) / size));
}

}  // namespace

void add_perf_net_command(CLI::App& app) {
  auto perf = app.get_subcommands([](CLI::App* a) { return a->get_name() == "perf"; });
  CLI::App* parent =
      perf.empty() ? app.add_subcommand("perf", "Benchmarks (print figures)") : perf.front();
  struct Options {
    std::string transport = "tcp";
    std::vector<size_t> sizes;
    uint64_t count = 0;
    bool two_process = false;
    size_t batch_send = 1;
  };
  auto o = std::make_shared<Options>();
  auto* cmd = parent->add_subcommand(
      "net", "Throughput between two channels over a transport, next to plain Asio sockets");
  cmd->add_option("--transport", o->transport, "Transport to measure (tcp, udp)")
      ->check(CLI::IsMember({"tcp", "udp"}))
      ->capture_default_str();
  cmd->add_option("--size", o->sizes, "Message size in bytes (repeatable; default 100 1024 61440)");
  cmd->add_option("--count", o->count, "Messages per run (default: about 200 MB worth)");
  cmd->add_flag("--two-process", o->two_process,
                "Sender and receiver in two processes (a forked receiver child per run)");
  cmd->add_option("--batch-send", o->batch_send,
                  "With --two-process: hand messages to the channel N at a time (1: one send each)")
      ->capture_default_str();
  cmd->callback([o] {
    std::vector<size_t> sizes =
        o->sizes.empty() ? std::vector<size_t>{100, 1024, 60 * 1024} : o->sizes;
    if (o->two_process) {
      fmt::print("perf net: {} between two processes on 127.0.0.1\n", o->transport);
      run_perf_net_two_process(o->transport, sizes, o->count, &default_count, o->batch_send);
      std::exit(0);
    }
    fmt::print("perf net: {} between two channels on 127.0.0.1 (one loop thread each)\n",
               o->transport);
    if (o->transport == "udp") {
      run_perf_net_udp(sizes, o->count, &default_count);
      std::exit(0);
    }
    for (size_t size : sizes) {
      uint64_t count = o->count ? o->count : default_count(size);
      fmt::print("{} messages of {} B:\n", count, size);
      Result base = run_asio(size, count, false);
      print("asio 1 write/msg", size, base, nullptr);
      Result batched = run_asio(size, count, true);
      print("asio batched", size, batched, &base);
      Result ours = run_cohort(size, count);
      print("cohort TCP", size, ours, &base);
      std::fflush(stdout);
    }
    std::exit(0);
  });
}

}  // namespace cohort::tools
