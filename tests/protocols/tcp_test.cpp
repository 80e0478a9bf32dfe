// TCP transport over 127.0.0.1 with ports from the kernel. Members are told about each other
// directly (event::add_physical_address), as discovery would; tests/discovery covers TCPPING.
#include <doctest/doctest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "protocols/physical_address.hpp"
#include "protocols/tcp_resolution.hpp"
#include "protocols/tcp_test_util.hpp"
#include "stack/frame.hpp"
#include "stack/protocol_ids.hpp"

using namespace cohort;
using namespace cohort::test;
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

std::vector<std::unique_ptr<Protocol>> tcp_only(std::map<std::string, std::string> attrs = {}) {
  std::vector<std::unique_ptr<Protocol>> v;
  v.push_back(make_tcp(std::move(attrs)));
  return v;
}

/// Tells every node where every other node is.
void introduce(std::vector<NetNode*> nodes) {
  for (auto* n : nodes)
    for (auto* other : nodes) {
      if (n == other) continue;
      std::string p;
      other->ch->invoke([&] { p = other->tcp().physical_address(); });
      Address a = other->ch->address();
      n->ch->invoke([&] {
        Event ev(event::add_physical_address, std::pair<Address, std::string>(a, p));
        n->ch->stack().down(ev);
      });
    }
}

std::string physical_of(NetNode& n) {
  std::string p;
  n.ch->invoke([&] { p = n.tcp().physical_address(); });
  return p;
}

/// Writes bytes to a node's listening port from a raw socket; returns true if the node then
/// closed the connection (reading gives EOF or an error within the patience).
bool send_raw_and_expect_close(NetNode& n, const std::vector<uint8_t>& bytes, bool close_after) {
  asio::io_context io;
  tcp::socket s(io);
  s.connect(*physical::parse(physical_of(n)));
  asio::write(s, asio::buffer(bytes));
  if (close_after) {
    s.shutdown(tcp::socket::shutdown_send);
  }
  // Read (and skip) the node's hello, until EOF.
  std::vector<uint8_t> buf(4096);
  boost::system::error_code ec;
  for (;;) {
    s.read_some(asio::buffer(buf), ec);
    if (ec) return true;
  }
}

std::vector<uint8_t> length_prefixed(const std::vector<uint8_t>& body, uint32_t len) {
  std::vector<uint8_t> out;
  out.reserve(4 + body.size());
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<uint8_t>(len >> (8 * i)));
  for (uint8_t b : body)
    out.push_back(b);
  return out;
}

/// A TCP hello as a peer would send it: its listening address under TCP's header id.
class HelloHeader : public Header {
 public:
  explicit HelloHeader(std::string physical) : physical_(std::move(physical)) {}
  void encode(codec::Writer& w) const override { w.str(physical_); }

 private:
  std::string physical_;
};

/// A length-prefixed frame from `src` holding `msg`.
std::vector<uint8_t> framed(const std::string& cluster, const Address& src, const Message& msg) {
  codec::Writer w;
  encode_frame(w, cluster, src, Address(), std::span(&msg, 1));
  auto body = w.take();
  return length_prefixed(body, static_cast<uint32_t>(body.size()));
}

std::vector<uint8_t> hello_from(const std::string& cluster, const Address& src,
                                const std::string& physical = "127.0.0.1:1") {
  Message hello;
  hello.set(Message::INTERNAL)
      .put_header(protocol_id::tcp, std::make_shared<HelloHeader>(physical));
  return framed(cluster, src, hello);
}

std::vector<uint8_t> data_from(const std::string& cluster, const Address& src,
                               std::string_view payload) {
  Message m;
  m.payload(Buffer::copy_of(payload));
  return framed(cluster, src, m);
}

/// Reads one length-prefixed frame (blocking); false on EOF or error.
bool read_frame(tcp::socket& s) {
  uint8_t len_bytes[4];
  boost::system::error_code ec;
  asio::read(s, asio::buffer(len_bytes), ec);
  if (ec) return false;
  uint32_t len = uint32_t(len_bytes[0]) | uint32_t(len_bytes[1]) << 8 |
                 uint32_t(len_bytes[2]) << 16 | uint32_t(len_bytes[3]) << 24;
  std::vector<uint8_t> body(len);
  asio::read(s, asio::buffer(body), ec);
  return !ec;
}

}  // namespace

TEST_CASE("TCP: unicast and group messages between three members") {
  std::string cluster = unique_net_cluster("tcp");
  NetNode a, b, c;
  a.open("A", tcp_only());
  b.open("B", tcp_only());
  c.open("C", tcp_only());
  for (auto* n : {&a, &b, &c})
    n->ch->connect(cluster);
  introduce({&a, &b, &c});

  a.ch->send(b.ch->address(), Buffer::copy_of(std::string_view("A to B")));
  c.ch->send(Address(), Buffer::copy_of(std::string_view("C to all")));
  b.ch->send(c.ch->address(), Buffer::copy_of(std::string_view("B to C")));

  CHECK(eventually([&] { return b.count_of("A to B") == 1; }));
  CHECK(eventually([&] { return c.count_of("B to C") == 1; }));
  for (auto* n : {&a, &b, &c})
    CHECK(eventually([&] { return n->count_of("C to all") == 1; }));
  {
    std::lock_guard lock(b.mu);
    for (size_t i = 0; i < b.payloads.size(); ++i)
      if (b.payloads[i] == "A to B") CHECK(b.senders[i] == a.ch->address());
  }
  // One connection per pair: A–B, A–C?, B–C (A never sent to C but C sent to A).
  CHECK(eventually([&] { return a.open_connections() == 2 && b.open_connections() == 2; }));
  CHECK(a.stat("TCP", "malformed") == 0);
}

TEST_CASE("TCP: messages queued during a write are bundled into fewer frames and writes") {
  std::string cluster = unique_net_cluster("tcp-bundle");
  NetNode a, b;
  a.open("A", tcp_only());
  b.open("B", tcp_only());
  a.ch->connect(cluster);
  b.ch->connect(cluster);
  introduce({&a, &b});
  // Warm up the connection so the burst below does not wait for connect.
  a.ch->send(b.ch->address(), Buffer::copy_of(std::string_view("warm-up")));
  REQUIRE(eventually([&] { return b.received >= 1; }));

  constexpr int n = 5000;
  uint64_t frames_before = a.stat("TCP", "frames_sent");
  a.ch->invoke([&] {  // one burst on the loop: the first is written at once, the rest queue up
    for (int i = 0; i < n; ++i) {
      Message m(b.ch->address(), Buffer::copy_of(std::string_view("small message")));
      a.ch->stack().down(m);
    }
  });
  REQUIRE(eventually([&] { return b.received >= n + 1; }));
  uint64_t frames = a.stat("TCP", "frames_sent") - frames_before;
  uint64_t batches = b.stat("TCP", "batches_received");
  MESSAGE("frames for ", n, " messages: ", frames, ", batches received: ", batches);
  CHECK(frames < n / 10);
  CHECK(batches < n / 10);
  CHECK(a.stat("TCP", "dropped") == 0);
  CHECK(b.count_of("small message") == n);
}

TEST_CASE("TCP: a lone message is not delayed by bundling") {
  std::string cluster = unique_net_cluster("tcp-lone");
  NetNode a, b;
  a.open("A", tcp_only());
  b.open("B", tcp_only());
  a.ch->connect(cluster);
  b.ch->connect(cluster);
  introduce({&a, &b});
  for (int i = 0; i < 20; ++i) {
    a.ch->send(b.ch->address(), Buffer::copy_of(std::string_view("ping")));
    REQUIRE(eventually([&] { return b.received >= static_cast<size_t>(i + 1); }));
  }
  // Every message went out in its own write (nothing waited for company).
  CHECK(a.stat("TCP", "writes") >= 20);
}

TEST_CASE("TCP: simultaneous connects end with one connection per pair and no lost message") {
  int resolved = 0;
  for (int round = 0; round < 10; ++round) {
    std::string cluster = unique_net_cluster("tcp-simul");
    NetNode a, b;
    a.open("A", tcp_only());
    b.open("B", tcp_only());
    a.ch->connect(cluster);
    b.ch->connect(cluster);
    introduce({&a, &b});
    // Both send at the same moment, each opening a connection to the other.
    std::thread ta([&] {
      for (int i = 0; i < 50; ++i)
        a.ch->send(b.ch->address(), Buffer::copy_of(std::string_view("from A")));
    });
    std::thread tb([&] {
      for (int i = 0; i < 50; ++i)
        b.ch->send(a.ch->address(), Buffer::copy_of(std::string_view("from B")));
    });
    ta.join();
    tb.join();
    eventually([&] { return a.count_of("from B") == 50 && b.count_of("from A") == 50; });
    // On failure: what arrived, and what each transport dropped or saw as malformed.
    INFO("round ", round, ": A dropped ", a.stat("TCP", "dropped"), ", malformed ",
         a.stat("TCP", "malformed"), ", simultaneous ", a.stat("TCP", "simultaneous_connects"),
         ", opened ", a.stat("TCP", "connections_opened"), " | B dropped ",
         b.stat("TCP", "dropped"), ", malformed ", b.stat("TCP", "malformed"), ", simultaneous ",
         b.stat("TCP", "simultaneous_connects"), ", opened ", b.stat("TCP", "connections_opened"));
    CHECK(a.count_of("from B") == 50);
    CHECK(b.count_of("from A") == 50);
    CHECK(a.stat("TCP", "dropped") == 0);
    CHECK(b.stat("TCP", "dropped") == 0);
    CHECK(eventually([&] { return a.open_connections() == 1 && b.open_connections() == 1; }));
    resolved += static_cast<int>(a.stat("TCP", "simultaneous_connects"));
    // The surviving connection keeps working in both directions.
    a.ch->send(b.ch->address(), Buffer::copy_of(std::string_view("after")));
    b.ch->send(a.ch->address(), Buffer::copy_of(std::string_view("after")));
    CHECK(eventually([&] { return a.count_of("after") == 1 && b.count_of("after") == 1; }));
  }
  MESSAGE("rounds where both sides connected at once: ", resolved);
}

TEST_CASE(
    "TCP resolution: both ends keep the same connection, only the loser's initiator ends it") {
  // A dialled B (connection AB) while B dialled A (BA). A decides on BA's hello (AB registered,
  // outgoing), B on AB's hello (BA registered, outgoing).
  auto resolve = [](const std::string& pa, const std::string& pb) {
    CAPTURE(pa);
    CAPTURE(pb);
    bool a_keeps_ba = tcp_resolution::incoming_wins(true, pb, pa);
    bool b_keeps_ab = tcp_resolution::incoming_wins(true, pa, pb);
    CHECK(a_keeps_ba != b_keeps_ab);  // the same one survives on both ends
    CHECK(a_keeps_ba == (pb < pa));   // the one dialled by the smaller address
  };
  resolve("127.0.0.1:9999", "127.0.0.1:10000");
  resolve("127.0.0.1:10000", "127.0.0.1:9999");
  resolve("10.0.0.2:7800", "10.0.0.10:7800");
  resolve("[::1]:7800", "127.0.0.1:7800");
  resolve("127.0.0.1:40001", "127.0.0.1:40002");
  // Both incoming: the peer reconnected, the new connection wins whatever the addresses.
  CHECK(tcp_resolution::incoming_wins(false, "127.0.0.1:1", "127.0.0.1:2"));
  CHECK(tcp_resolution::incoming_wins(false, "127.0.0.1:2", "127.0.0.1:1"));
  // Exactly one end of the losing connection half-closes it first: its initiator, which decides
  // only once the winner's hello reached it. The acceptor waits for that EOF.
  CHECK(tcp_resolution::half_closes_first(true));
  CHECK_FALSE(tcp_resolution::half_closes_first(false));
}

TEST_CASE("TCP: the acceptor of the losing connection reads it until the initiator ends it") {
  // A real node X and a raw peer P whose listening address is larger, so that X's connection to
  // P wins. P dials X while X's connection is open but before P has answered it: X must keep
  // reading P's connection and not end it, as P (the real one) would take an EOF for a closed
  // connection and drop what it still has queued.
  std::string cluster = unique_net_cluster("tcp-loser");
  NetNode x;
  // sock_conn_timeout beyond the patience: only P's EOF can close the losing connection.
  x.open("X", tcp_only({{"sock_conn_timeout", "60s"}}));
  x.ch->connect(cluster);
  std::string px_phys = physical_of(x);
  // 127.0.0.2 (loopback too) sorts after X's 127.0.0.1, whatever the ports.
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.2"), 0));
  std::string pp = physical::format(acc.local_endpoint());
  REQUIRE(px_phys < pp);
  Address p(77, 77, "P");
  x.ch->invoke([&] {
    Event ev(event::add_physical_address, std::pair<Address, std::string>(p, pp));
    x.ch->stack().down(ev);
  });

  // X dials P (the winner); P accepts but does not answer yet.
  x.ch->send(p, Buffer::copy_of(std::string_view("X on winner")));
  tcp::socket winner(io);
  acc.accept(winner);
  // P dials X (the loser): hello, then a message.
  tcp::socket loser(io);
  loser.connect(*physical::parse(px_phys));
  asio::write(loser, asio::buffer(hello_from(cluster, p, pp)));
  asio::write(loser, asio::buffer(data_from(cluster, p, "P on loser 1")));
  REQUIRE(eventually([&] {
    return x.stat("TCP", "simultaneous_connects") == 1 && x.count_of("P on loser 1") == 1;
  }));
  // X decided; it wrote its hello on the loser and nothing else: no EOF.
  REQUIRE(read_frame(loser));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  loser.non_blocking(true);
  uint8_t byte = 0;
  boost::system::error_code ec;
  loser.read_some(asio::buffer(&byte, 1), ec);
  CHECK(ec == asio::error::would_block);  // an EOF here is the bug
  loser.non_blocking(false);
  // P, not having seen X's hello on the winner yet, keeps writing on the loser: delivered.
  asio::write(loser, asio::buffer(data_from(cluster, p, "P on loser 2")));
  CHECK(eventually([&] { return x.count_of("P on loser 2") == 1; }));
  // P learns the winner (X's hello, then X's message), answers with its hello, ends the loser.
  REQUIRE(read_frame(winner));
  REQUIRE(read_frame(winner));
  asio::write(winner, asio::buffer(hello_from(cluster, p, pp)));
  asio::write(winner, asio::buffer(data_from(cluster, p, "P on winner")));
  loser.shutdown(tcp::socket::shutdown_send);
  CHECK_FALSE(read_frame(loser));  // X closes it on P's EOF
  CHECK(eventually([&] { return x.count_of("P on winner") == 1; }));
  CHECK(eventually([&] { return x.open_connections() == 1; }));
  CHECK(x.stat("TCP", "dropped") == 0);
  CHECK(x.stat("TCP", "malformed") == 0);
}

TEST_CASE("TCP: hostile input is counted as malformed, the connection closed, the node unharmed") {
  std::string cluster = unique_net_cluster("tcp-hostile");
  NetNode a, b;
  a.open("A", tcp_only({{"max_frame_size", "1MB"}, {"max_bundle_size", "64KB"}}));
  b.open("B", tcp_only());
  a.ch->connect(cluster);
  b.ch->connect(cluster);
  introduce({&a, &b});

  uint64_t malformed = 0;
  auto expect_malformed = [&](const std::vector<uint8_t>& bytes, bool close_after) {
    CHECK(send_raw_and_expect_close(a, bytes, close_after));
    CHECK(eventually([&] { return a.stat("TCP", "malformed") == malformed + 1; }));
    malformed = a.stat("TCP", "malformed");
  };

  SUBCASE("garbage") {
    expect_malformed(
        {'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n'}, false);
  }
  SUBCASE("oversized length") {
    expect_malformed(length_prefixed({1, 2, 3}, 0xfffffff0u), false);
  }
  SUBCASE("zero length") {
    expect_malformed(length_prefixed({}, 0), false);
  }
  SUBCASE("truncated frame, then EOF") {
    expect_malformed(length_prefixed(std::vector<uint8_t>(50, 0x43), 100), true);
  }
  SUBCASE("a frame of random bytes") {
    std::mt19937 rng(7);
    std::vector<uint8_t> body(300);
    for (auto& x : body)
      x = static_cast<uint8_t>(rng());
    expect_malformed(length_prefixed(body, 300), false);
  }
  SUBCASE("a valid frame that is not a hello") {
    codec::Writer w;
    Message m;
    m.payload(Buffer::copy_of(std::string_view("sneaky")));
    encode_frame(w, cluster, Address(1, 2, "X"), Address(), std::span(&m, 1));
    auto body = w.take();
    expect_malformed(length_prefixed(body, static_cast<uint32_t>(body.size())), false);
  }
  SUBCASE("a connection that sends nothing is closed after sock_conn_timeout") {
    expect_malformed({}, false);
  }
  SUBCASE("a valid hello, then a frame claiming another source") {
    auto bytes = hello_from(cluster, Address(1, 2, "X"));
    Message m;
    m.payload(Buffer::copy_of(std::string_view("impostor")));
    auto impostor = framed(cluster, Address(3, 4, "Y"), m);
    bytes.insert(bytes.end(), impostor.begin(), impostor.end());
    expect_malformed(bytes, false);
    CHECK(a.count_of("impostor") == 0);
  }
  SUBCASE("a valid hello, then random bytes") {
    auto bytes = hello_from(cluster, Address(1, 2, "X"));
    std::mt19937 rng(5);
    std::vector<uint8_t> body(200);
    for (auto& x : body)
      x = static_cast<uint8_t>(rng());
    auto junk = length_prefixed(body, 200);
    bytes.insert(bytes.end(), junk.begin(), junk.end());
    expect_malformed(bytes, false);
  }
  SUBCASE("random streams") {
    std::mt19937 rng(11);
    for (int i = 0; i < 20; ++i) {
      std::vector<uint8_t> bytes(1 + rng() % 2000);
      for (auto& x : bytes)
        x = static_cast<uint8_t>(rng());
      // Keep lengths plausible half of the time so the decoder, not the length check, sees it.
      if (i % 2 == 0) {
        uint32_t len = static_cast<uint32_t>(bytes.size() - 4 > 0 ? bytes.size() - 4 : 1);
        for (int k = 0; k < 4 && k < static_cast<int>(bytes.size()); ++k)
          bytes[k] = static_cast<uint8_t>(len >> (8 * k));
      }
      if (bytes.size() < 4) continue;
      expect_malformed(bytes, true);
    }
  }
  // The node keeps working with its real peers.
  b.ch->send(a.ch->address(), Buffer::copy_of(std::string_view("still there?")));
  a.ch->send(b.ch->address(), Buffer::copy_of(std::string_view("yes")));
  CHECK(eventually([&] { return a.count_of("still there?") == 1 && b.count_of("yes") == 1; }));
  CHECK(eventually([&] { return a.open_connections() == 1; }));
}

TEST_CASE("TCP: a peer that does not read fills the bounded send queue, the rest is dropped") {
  std::string cluster = unique_net_cluster("tcp-queue");
  NetNode a;
  a.open("A", tcp_only({{"max_send_queue_bytes", "1MB"}, {"sock_conn_timeout", "30s"}}));
  a.ch->connect(cluster);
  // A listener that accepts (the kernel does) but never reads.
  asio::io_context io;
  tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::string sink = physical::format(acc.local_endpoint());
  Address x(42, 42, "X");
  a.ch->invoke([&] {
    Event ev(event::add_physical_address, std::pair<Address, std::string>(x, sink));
    a.ch->stack().down(ev);
  });
  std::string big(60 * 1024, 'x');
  a.ch->invoke([&] {
    for (int i = 0; i < 400; ++i) {  // 24 MB, far beyond socket buffers + the 1 MB queue
      Message m(x, Buffer::copy_of(std::string_view(big)));
      a.ch->stack().down(m);
    }
  });
  CHECK(eventually([&] { return a.stat("TCP", "send_queue_full") > 0; }));
  CHECK(a.stat("TCP", "dropped") >= a.stat("TCP", "send_queue_full"));
}

TEST_CASE("TCP: a refused connection is counted and retried only after the backoff") {
  std::string cluster = unique_net_cluster("tcp-refused");
  NetNode a;
  a.open("A", tcp_only({{"reconnect_interval", "10s"}, {"max_reconnect_interval", "10s"}}));
  a.ch->connect(cluster);
  // A port that was just free: nothing listens there.
  std::string dead;
  {
    asio::io_context io;
    tcp::acceptor acc(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    dead = physical::format(acc.local_endpoint());
  }
  Address x(43, 43, "X");
  a.ch->invoke([&] {
    Event ev(event::add_physical_address, std::pair<Address, std::string>(x, dead));
    a.ch->stack().down(ev);
  });
  a.ch->send(x, Buffer::copy_of(std::string_view("lost")));
  CHECK(eventually([&] { return a.stat("TCP", "connect_failures") == 1; }));
  for (int i = 0; i < 10; ++i)
    a.ch->send(x, Buffer::copy_of(std::string_view("also lost")));
  CHECK(eventually([&] { return a.stat("TCP", "dropped") >= 11; }));
  CHECK(a.stat("TCP", "connect_failures") == 1);  // no new attempt within the backoff
}

TEST_CASE("TCP: configuration errors name the attribute") {
  auto init_error = [](std::map<std::string, std::string> attrs) -> std::string {
    try {
      NetNode n;
      n.open("A", tcp_only(std::move(attrs)));
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  CHECK(init_error({{"bind_addr", "0.0.0.0"}}).starts_with("bind_addr:"));
  CHECK(init_error({{"bind_addr", "not-an-ip"}}).starts_with("bind_addr:"));
  CHECK(init_error({{"max_bundle_size", "2MB"}, {"max_frame_size", "1MB"}})
            .starts_with("max_bundle_size:"));
  // A taken port (with no range to fall back on).
  asio::io_context io;
  tcp::acceptor taken(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::string port = std::to_string(taken.local_endpoint().port());
  CHECK(
      init_error({{"bind_port", port}}).starts_with("bind_port: cannot listen on 127.0.0.1 port"));
  // With a range, the next free port is taken.
  NetNode n;
  n.open("A", tcp_only({{"bind_port", port}, {"port_range", "5"}}));
  CHECK(physical_of(n) != "127.0.0.1:" + port);
}
