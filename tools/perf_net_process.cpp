// `cohort perf net --two-process [--transport tcp|udp]`: throughput between two PROCESSES. For each
// message size and each contender, the command forks a receiver child, sends it C messages of N
// bytes from the parent, and stops the child by PID (SIGTERM, waitpid). Contenders, all in the
// same run:
//
//   asio 1 write/msg  plain blocking Asio socket, one write (TCP: u32 length + payload) or one
//                     datagram (UDP) per message; the receiver splits messages by their lengths.
//   asio batched      the same messages packed into writes/datagrams of up to 64000 bytes.
//   cohort TCP/UDP    a one-protocol stack (the transport alone) in each process; Channel::send
//                     per message, or a batch of --batch-send messages handed to the loop in
//                     one post.
//
// Flow control is the same for everyone: the child reports its count through a pipe (every
// quarter window, and every message near the end), and the parent keeps at most a window of
// ~4 MB (TCP) / 2 MB (UDP, below the receive buffers) in flight. The pipe only carries acks; every
// message goes over the network socket. UDP may drop: a run that makes no progress for 500 ms
// stops and reports the loss.
#include "tools/perf_net_process.hpp"

#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "protocols/tcp.hpp"
#include "protocols/udp.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/channel.hpp"

namespace cohort::tools {

namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Result {
  double seconds = 0;
  uint64_t messages = 0;
  uint64_t lost = 0;
};

/// The receiver's side of the ack pipe: reports the count every `step` messages and near the end.
class AckWriter {
 public:
  AckWriter(int fd, uint64_t step, uint64_t count)
      : fd_(fd), step_(step), tail_(count > step ? count - step : 0) {}
  void received(uint64_t n) {
    if (n % step_ == 0 || n >= tail_) {
      ssize_t w = ::write(fd_, &n, sizeof n);  // <= PIPE_BUF: atomic
      (void)w;
    }
  }

 private:
  int fd_;
  uint64_t step_, tail_;
};

/// The sender's side: the latest count, waiting for it with a stall timeout.
class AckReader {
 public:
  explicit AckReader(int fd) : fd_(fd) {}
  uint64_t latest() const { return latest_; }
  /// Waits until the count reaches `target`; false if nothing arrives for `stall`.
  bool wait_for(uint64_t target, std::chrono::milliseconds stall) {
    while (latest_ < target) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(stall.count())) <= 0) return false;
      std::array<uint64_t, 512> buf;
      ssize_t n = ::read(fd_, buf.data(), sizeof buf);
      if (n <= 0) return false;  // the child died
      latest_ = std::max(latest_, buf[static_cast<size_t>(n) / sizeof(uint64_t) - 1]);
    }
    return true;
  }

 private:
  int fd_;
  uint64_t latest_ = 0;
};

/// A forked receiver: its pid, the read end of its ack pipe, and the line it printed at setup.
struct Child {
  pid_t pid = -1;
  int ack_fd = -1;
  std::string info;
  ~Child() {
    if (pid > 0) {
      ::kill(pid, SIGTERM);
      int status = 0;
      ::waitpid(pid, &status, 0);
    }
    if (ack_fd >= 0) ::close(ack_fd);
  }
};

/// Forks a child that runs `body(info_fd, ack_fd)` and never returns; the parent reads the
/// child's one setup line (ended by '\n') before going on.
std::unique_ptr<Child> spawn(const std::function<void(int, int)>& body) {
  int info[2], ack[2];
  if (::pipe(info) != 0 || ::pipe(ack) != 0) throw std::runtime_error("pipe failed");
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::close(info[0]);
    ::close(ack[0]);
    body(info[1], ack[1]);
    for (;;)
      ::pause();  // until the parent's SIGTERM
  }
  ::close(info[1]);
  ::close(ack[1]);
  auto c = std::make_unique<Child>();
  c->pid = pid;
  c->ack_fd = ack[0];
  char ch;
  while (::read(info[0], &ch, 1) == 1 && ch != '\n')
    c->info += ch;
  ::close(info[0]);
  if (c->info.empty()) throw std::runtime_error("the receiver child failed to start");
  return c;
}

void write_line(int fd, const std::string& line) {
  std::string l = line + "\n";
  ssize_t w = ::write(fd, l.data(), l.size());
  (void)w;
}

uint64_t window_for(const std::string& transport, size_t size) {
  uint64_t bytes = transport == "tcp" ? (4u << 20) : (2u << 20);
  return std::max<uint64_t>(8, bytes / (size + 64));
}

/// Counts the u32-length-prefixed messages in buf[0, have); returns the bytes they fill.
size_t count_messages(const uint8_t* buf, size_t have, uint64_t& n) {
  size_t pos = 0;
  while (have - pos >= 4) {
    uint32_t len;
    std::memcpy(&len, buf + pos, 4);
    if (have - pos - 4 < len) break;
    pos += 4 + len;
    ++n;
  }
  return pos;
}

// --- Plain Asio ---------------------------------------------------------------------------------

[[noreturn]] void asio_receiver(const std::string& transport, size_t size, uint64_t count,
                                int info_fd, int ack_fd) {
  asio::io_context io;
  auto lo = asio::ip::make_address_v4("127.0.0.1");
  AckWriter ack(ack_fd, std::max<uint64_t>(1, window_for(transport, size) / 4), count);
  std::vector<uint8_t> buf(64 * 1024 + size + 4);
  boost::system::error_code ec;
  uint64_t n = 0;
  if (transport == "tcp") {
    asio::ip::tcp::acceptor acc(io, asio::ip::tcp::endpoint(lo, 0));
    write_line(info_fd, std::to_string(acc.local_endpoint().port()));
    asio::ip::tcp::socket s(io);
    acc.accept(s);
    size_t have = 0;
    for (;;) {
      have += s.read_some(asio::buffer(buf.data() + have, buf.size() - have), ec);
      if (ec) break;
      uint64_t before = n;
      size_t used = count_messages(buf.data(), have, n);
      std::memmove(buf.data(), buf.data() + used, have - used);
      have -= used;
      for (uint64_t k = before + 1; k <= n; ++k)
        ack.received(k);
    }
  } else {
    asio::ip::udp::socket s(io, asio::ip::udp::endpoint(lo, 0));
    s.set_option(asio::socket_base::receive_buffer_size(4 << 20));
    write_line(info_fd, std::to_string(s.local_endpoint().port()));
    for (;;) {
      size_t got = s.receive(asio::buffer(buf), 0, ec);
      if (ec) break;
      uint64_t before = n;
      count_messages(buf.data(), got, n);
      for (uint64_t k = before + 1; k <= n; ++k)
        ack.received(k);
    }
  }
  for (;;)
    ::pause();
}

Result asio_sender(const std::string& transport, size_t size, uint64_t count, bool batched,
                   Child& child) {
  asio::io_context io;
  auto lo = asio::ip::make_address_v4("127.0.0.1");
  auto port = static_cast<uint16_t>(std::stoi(child.info));
  AckReader acks(child.ack_fd);
  const uint64_t window = window_for(transport, size);
  const bool is_tcp = transport == "tcp";
  const auto stall = std::chrono::milliseconds(is_tcp ? 30000 : 500);
  asio::ip::tcp::socket ts(io);
  asio::ip::udp::socket us(io);
  if (is_tcp) {
    ts.connect(asio::ip::tcp::endpoint(lo, port));
    ts.set_option(asio::ip::tcp::no_delay(true));
  } else {
    us.open(asio::ip::udp::v4());
    us.connect(asio::ip::udp::endpoint(lo, port));
  }
  const size_t per_write = batched ? std::max<size_t>(1, 64000 / (size + 4)) : 1;
  std::string payload(size, 'x');
  uint32_t len = static_cast<uint32_t>(size);
  std::vector<uint8_t> chunk;
  chunk.reserve(64 * 1024 + size + 4);
  auto start = Clock::now();
  uint64_t i = 0;
  bool stalled = false;
  while (i < count && !stalled) {
    if (i >= window && i - acks.latest() >= window)
      stalled = !acks.wait_for(i - window + per_write, stall);
    chunk.clear();
    for (size_t k = 0; k < per_write && i < count; ++k, ++i) {
      chunk.insert(chunk.end(), reinterpret_cast<uint8_t*>(&len),
                   reinterpret_cast<uint8_t*>(&len) + 4);
      chunk.insert(chunk.end(), payload.begin(), payload.end());
    }
    if (is_tcp)
      asio::write(ts, asio::buffer(chunk));
    else
      us.send(asio::buffer(chunk));
  }
  if (!stalled) acks.wait_for(count, stall);
  Result r{std::chrono::duration<double>(Clock::now() - start).count(), acks.latest(), 0};
  r.lost = i - r.messages;
  return r;
}

// --- cohort -------------------------------------------------------------------------------------

std::unique_ptr<Channel> perf_channel(const std::string& transport, const std::string& name) {
  auto stack = std::make_unique<ProtocolStack>(std::make_shared<AsioRuntime>(0, name));
  if (transport == "tcp") {
    auto t = std::make_unique<Tcp>();
    t->set_attribute("bind_port", "0");
    stack->add(std::move(t));
  } else {
    auto u = std::make_unique<Udp>();
    u->set_attribute("bind_port", "0");
    u->set_attribute("mcast_port", "45599");
    stack->add(std::move(u));
  }
  stack->init();
  auto ch = std::make_unique<Channel>(std::move(stack));
  ch->set_name(name);
  return ch;
}

std::string physical_of(Channel& ch) {
  std::string phys;
  ch.invoke([&] {
    if (auto* t = ch.stack().find<Tcp>()) phys = t->physical_address();
    if (auto* u = ch.stack().find<Udp>()) phys = u->physical_address();
  });
  return phys;
}

[[noreturn]] void cohort_receiver(const std::string& transport, size_t size, uint64_t count,
                                  int info_fd, int ack_fd) {
  auto ch = perf_channel(transport, "perf-R");
  auto ack = std::make_shared<AckWriter>(
      ack_fd, std::max<uint64_t>(1, window_for(transport, size) / 4), count);
  auto n = std::make_shared<uint64_t>(0);
  ch->on_message([ack, n](Message&) { ack->received(++*n); });  // on the loop thread
  ch->connect("perf-net-2p");
  Address a = ch->address();
  write_line(info_fd, fmt::format("{} {} {}", physical_of(*ch), a.hi(), a.lo()));
  for (;;)
    ::pause();
}

Result cohort_sender(const std::string& transport, size_t size, uint64_t count, size_t batch_send,
                     Child& child) {
  std::istringstream in(child.info);
  std::string phys;
  uint64_t hi = 0, lo = 0;
  in >> phys >> hi >> lo;
  Address r(hi, lo, "perf-R");
  auto ch = perf_channel(transport, "perf-S");
  ch->connect("perf-net-2p");
  ch->invoke([&] {
    Event ev(event::add_physical_address, std::pair<Address, std::string>(r, phys));
    ch->stack().down(ev);
  });
  AckReader acks(child.ack_fd);
  const bool is_tcp = transport == "tcp";
  const auto stall = std::chrono::milliseconds(is_tcp ? 30000 : 500);
  const uint64_t window = window_for(transport, size);
  Buffer payload = Buffer::copy_of(std::string(size, 'x'));
  // A batch never exceeds the ack step (a quarter window): the sender waits for acks that come.
  const size_t per_send = std::clamp<size_t>(batch_send, 1, std::max<uint64_t>(1, window / 4));
  std::vector<Message> batch;
  auto start = Clock::now();
  uint64_t i = 0;
  bool stalled = false;
  while (i < count && !stalled) {
    if (i >= window && i - acks.latest() >= window)
      stalled = !acks.wait_for(i - window + per_send, stall);
    if (per_send == 1) {
      ch->send(r, payload);
      ++i;
      continue;
    }
    // One hand-off to the loop for the whole batch (Channel::send posts one task per message).
    batch.clear();
    for (size_t k = 0; k < per_send && i < count; ++k, ++i)
      batch.emplace_back(r, payload);
    ch->runtime().post([c = ch.get(), msgs = std::move(batch)]() mutable {
      for (auto& m : msgs)
        c->stack().down(m);
    });
  }
  if (!stalled) acks.wait_for(count, stall);
  Result res{std::chrono::duration<double>(Clock::now() - start).count(), acks.latest(), 0};
  res.lost = i - res.messages;
  uint64_t dropped = 0, writes = 0;
  ch->invoke([&] {
    auto& t = *ch->stack().protocols().front();
    dropped = t.stat("dropped");
    writes = is_tcp ? t.stat("writes") : t.stat("datagrams_sent");
  });
  fmt::print("  (cohort sender: {} messages in {} {}, {} dropped)\n", i, writes,
             is_tcp ? "writes" : "datagrams", dropped);
  ch->close();
  return res;
}

void print(const std::string& what, size_t size, const Result& r, const Result* baseline) {
  double mps = r.messages / r.seconds, mbps = r.messages * double(size) / r.seconds / 1e6;
  std::string vs = baseline ? fmt::format("  ({:.0f}% of asio 1 write/msg)",
                                          100.0 * mps / (baseline->messages / baseline->seconds))
                            : std::string();
  std::string lost = r.lost ? fmt::format("  [{} lost]", r.lost) : std::string();
  fmt::print("  {:<18} {:>7} B  {:>10.0f} msg/s  {:>8.1f} MB/s{}{}\n", what, size, mps, mbps, vs,
             lost);
  std::fflush(stdout);
}

std::string load_average() {
  double l[3] = {0, 0, 0};
  if (::getloadavg(l, 3) < 3) return "?";
  return fmt::format("{:.2f} {:.2f} {:.2f}", l[0], l[1], l[2]);
}

}  // namespace

void run_perf_net_two_process(const std::string& transport, const std::vector<size_t>& sizes,
                              uint64_t count_override, uint64_t (*default_count)(size_t),
                              size_t batch_send) {
  const std::string name = transport == "tcp" ? "cohort TCP" : "cohort UDP";
  for (size_t size : sizes) {
    if (transport == "udp" && size + 200 > Udp::max_datagram_size) {
      fmt::print("{} B: larger than one datagram; UDP needs FRAG above it (skipped)\n", size);
      continue;
    }
    uint64_t count = count_override ? count_override : default_count(size);
    fmt::print("{} messages of {} B, two processes (load average {}):\n", count, size,
               load_average());
    Result base, batched, ours;
    {
      auto c = spawn([&](int info, int ack) { asio_receiver(transport, size, count, info, ack); });
      base = asio_sender(transport, size, count, false, *c);
    }
    print("asio 1 write/msg", size, base, nullptr);
    {
      auto c = spawn([&](int info, int ack) { asio_receiver(transport, size, count, info, ack); });
      batched = asio_sender(transport, size, count, true, *c);
    }
    print("asio batched", size, batched, &base);
    {
      auto c =
          spawn([&](int info, int ack) { cohort_receiver(transport, size, count, info, ack); });
      ours = cohort_sender(transport, size, count, batch_send, *c);
    }
    print(batch_send > 1 ? fmt::format("{} x{}", name, batch_send) : name, size, ours, &base);
  }
}

}  // namespace cohort::tools
