// `cohort perf net --transport udp`: throughput of the UDP transport between two channels (each
// on its own loop thread), next to plain Asio UDP sockets doing the same in the same run. Prints
// messages/s and MB/s; asserts nothing.
//
//   cohort UDP        channel.send() of C messages of N bytes to the other member (unicast
//                     datagrams, bundled by UDP), at most `window` bytes in flight (the receiver's
//                     count is the ack) so the receive buffer does not overflow.
//   asio 1 send/msg   a blocking socket sending each message as one datagram, same window.
//   asio batched      the same messages packed into datagrams of up to 64000 bytes.
//
// UDP may drop under load: a run that makes no progress for 500 ms stops and reports the loss.
#include "tools/perf_net_udp.hpp"

#include <fmt/format.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "protocols/udp.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/channel.hpp"

namespace cohort::tools {

namespace {

namespace asio = boost::asio;
using asio::ip::udp;
using Clock = std::chrono::steady_clock;

struct Result {
  double seconds = 0;
  uint64_t messages = 0;
  uint64_t bytes = 0;
  uint64_t lost = 0;
};

constexpr uint64_t window_bytes = 2u << 20;  // in flight; below the 4 MB receive buffers

uint64_t window_for(size_t size) {
  return std::max<uint64_t>(8, window_bytes / (size + 64));
}

/// Waits until `received` reaches `target`; false if it stalls for 500 ms (datagrams lost).
bool wait_for(const std::atomic<uint64_t>& received, uint64_t target) {
  uint64_t last = received.load();
  auto last_change = Clock::now();
  while (received.load(std::memory_order_relaxed) < target) {
    uint64_t now = received.load(std::memory_order_relaxed);
    if (now != last) {
      last = now;
      last_change = Clock::now();
    } else if (Clock::now() - last_change > std::chrono::milliseconds(500)) {
      return false;
    }
    std::this_thread::yield();
  }
  return true;
}

void print(const char* what, size_t size, const Result& r, const Result* baseline) {
  double mps = r.messages / r.seconds, mbps = r.bytes / r.seconds / 1e6;
  std::string vs = baseline ? fmt::format("  ({:.0f}% of asio 1 send/msg)",
                                          100.0 * (mps / (baseline->messages / baseline->seconds)))
                            : std::string();
  std::string lost = r.lost ? fmt::format("  [{} lost]", r.lost) : std::string();
  fmt::print("  {:<18} {:>7} B  {:>10.0f} msg/s  {:>8.1f} MB/s{}{}\n", what, size, mps, mbps, vs,
             lost);
}

std::unique_ptr<Channel> udp_channel(const std::string& name) {
  auto stack = std::make_unique<ProtocolStack>(std::make_shared<AsioRuntime>(0, name));
  auto u = std::make_unique<Udp>();
  u->set_attribute("bind_port", "0");
  u->set_attribute("mcast_port", "45599");
  stack->add(std::move(u));
  stack->init();
  auto ch = std::make_unique<Channel>(std::move(stack));
  ch->set_name(name);
  return ch;
}

Result run_cohort(size_t size, uint64_t count) {
  auto sender = udp_channel("perf-S");
  auto receiver = udp_channel("perf-R");
  std::atomic<uint64_t> received{0};
  receiver->on_message([&](Message&) { received.fetch_add(1, std::memory_order_relaxed); });
  sender->connect("perf-net-udp");
  receiver->connect("perf-net-udp");
  std::string phys;
  receiver->invoke([&] { phys = receiver->stack().find<Udp>()->physical_address(); });
  Address r = receiver->address();
  sender->invoke([&] {
    Event ev(event::add_physical_address, std::pair<Address, std::string>(r, phys));
    sender->stack().down(ev);
  });
  Buffer payload = Buffer::copy_of(std::string(size, 'x'));
  sender->send(r, payload);
  wait_for(received, 1);
  received = 0;
  const uint64_t window = window_for(size);
  Result res;
  auto start = Clock::now();
  uint64_t i = 0;
  bool stalled = false;
  for (; i < count && !stalled; ++i) {
    if (i >= window && i - received.load(std::memory_order_relaxed) >= window)
      stalled = !wait_for(received, i - window + 1);
    sender->send(r, payload);
  }
  if (!stalled) wait_for(received, count);
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  res.messages = received.load();
  res.bytes = res.messages * size;
  res.lost = i - res.messages;
  uint64_t datagrams = 0, bundled = 0, dropped = 0;
  sender->invoke([&] {
    auto* u = sender->stack().find<Udp>();
    datagrams = u->stat("datagrams_sent");
    bundled = u->stat("bundled_msgs");
    dropped = u->stat("dropped");
  });
  fmt::print("  (cohort: {} messages in {} datagrams, {} bundled, {} dropped by the sender)\n",
             i + 1, datagrams, bundled, dropped);
  sender->close();
  receiver->close();
  return res;
}

/// Plain Asio: blocking sockets, one thread each side; `batch` messages per datagram.
Result run_asio(size_t size, uint64_t count, bool batched) {
  asio::io_context io;
  auto lo = asio::ip::make_address_v4("127.0.0.1");
  udp::socket rx(io, udp::endpoint(lo, 0));
  rx.set_option(asio::socket_base::receive_buffer_size(4 << 20));
  auto ep = rx.local_endpoint();
  const size_t per_datagram = batched ? std::max<size_t>(1, 64000 / (size + 4)) : 1;
  std::atomic<uint64_t> received{0};
  std::atomic<bool> stop{false};
  std::thread reader([&] {
    std::vector<uint8_t> buf(65536);
    boost::system::error_code ec;
    uint64_t n = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      size_t got = rx.receive(asio::buffer(buf), 0, ec);  // blocking; an empty datagram wakes it
      if (ec) break;
      // Count the length-prefixed messages in the datagram.
      size_t pos = 0;
      while (got - pos >= 4) {
        uint32_t len;
        std::memcpy(&len, buf.data() + pos, 4);
        if (got - pos - 4 < len) break;
        pos += 4 + len;
        ++n;
      }
      received.store(n, std::memory_order_relaxed);
    }
  });
  udp::socket tx(io, udp::endpoint(lo, 0));
  std::vector<uint8_t> datagram;
  datagram.reserve(65536);
  uint32_t len = static_cast<uint32_t>(size);
  std::string payload(size, 'x');
  const uint64_t window = window_for(size);
  Result res;
  auto start = Clock::now();
  uint64_t i = 0;
  bool stalled = false;
  while (i < count && !stalled) {
    if (i >= window && i - received.load(std::memory_order_relaxed) >= window)
      stalled = !wait_for(received, i - window + 1);
    datagram.clear();
    for (size_t k = 0; k < per_datagram && i < count; ++k, ++i) {
      datagram.insert(datagram.end(), reinterpret_cast<uint8_t*>(&len),
                      reinterpret_cast<uint8_t*>(&len) + 4);
      datagram.insert(datagram.end(), payload.begin(), payload.end());
    }
    tx.send_to(asio::buffer(datagram), ep);
  }
  if (!stalled) wait_for(received, count);
  res.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  stop = true;
  tx.send_to(asio::buffer(datagram, 0), ep);  // wakes the reader
  reader.join();
  res.messages = received.load();
  res.bytes = res.messages * size;
  res.lost = i - res.messages;
  return res;
}

}  // namespace

void run_perf_net_udp(const std::vector<size_t>& sizes, uint64_t count_override,
                      uint64_t (*default_count)(size_t)) {
  for (size_t size : sizes) {
    if (size + 200 > Udp::max_datagram_size) {
      fmt::print("{} B: larger than one datagram; UDP needs FRAG above it (skipped)\n", size);
      continue;
    }
    uint64_t count = count_override ? count_override : default_count(size);
    fmt::print("{} messages of {} B:\n", count, size);
    Result base = run_asio(size, count, false);
    print("asio 1 send/msg", size, base, nullptr);
    Result batched = run_asio(size, count, true);
    print("asio batched", size, batched, &base);
    Result ours = run_cohort(size, count);
    print("cohort UDP", size, ours, &base);
    std::fflush(stdout);
  }
}

}  // namespace cohort::tools
