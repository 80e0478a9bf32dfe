#pragma once
// Helpers for the UDP tests: a probe that tells whether IP multicast works on 127.0.0.1 here (the
// tests skip, loudly, when the kernel refuses it), multicast ports and cluster names that do not
// collide with other test processes, and a UDP protocol configured from text.
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/multicast.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

#include "protocols/udp.hpp"

namespace cohort::test {

/// "" if a datagram multicast to `group`:`port` from 127.0.0.1 comes back to a socket that
/// joined the group on 127.0.0.1 within a second; else why not.
inline std::string multicast_probe(const std::string& group, uint16_t port) {
  namespace asio = boost::asio;
  using asio::ip::udp;
  try {
    asio::io_context io;
    auto lo = asio::ip::make_address_v4("127.0.0.1");
    auto g = asio::ip::make_address_v4(group);
    udp::socket rx(io, udp::v4());
    rx.set_option(asio::socket_base::reuse_address(true));
    rx.bind(udp::endpoint(g, port));
    rx.set_option(asio::ip::multicast::join_group(g, lo));
    rx.non_blocking(true);
    udp::socket tx(io, udp::endpoint(lo, 0));
    tx.set_option(asio::ip::multicast::outbound_interface(lo));
    tx.set_option(asio::ip::multicast::enable_loopback(true));
    std::string probe = "cohort-multicast-probe-" + std::to_string(::getpid());
    char buf[256];
    for (int attempt = 0; attempt < 100; ++attempt) {
      if (attempt % 10 == 0) tx.send_to(asio::buffer(probe), udp::endpoint(g, port));
      boost::system::error_code ec;
      size_t n = rx.receive(asio::buffer(buf), 0, ec);
      if (!ec && std::string(buf, n) == probe) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return "no multicast datagram came back on 127.0.0.1 within 1s";
  } catch (const std::exception& e) {
    return e.what();
  }
}

/// A multicast port for this test process: 45700 + (pid % 200) * 5 + offset, so that concurrent
/// test runs (plain and sanitizer builds) do not hear each other.
inline int test_mcast_port(int offset) {
  return 45700 + static_cast<int>(::getpid() % 200) * 5 + offset;
}

/// A UDP protocol with attributes from text (bind_port=0 unless given).
inline std::unique_ptr<Udp> make_udp(std::map<std::string, std::string> attrs = {}) {
  auto u = std::make_unique<Udp>();
  if (!attrs.contains("bind_port")) attrs["bind_port"] = "0";
  for (auto& [k, v] : attrs)
    if (auto err = u->set_attribute(k, v); !err.empty())
      throw std::invalid_argument(k + ": " + err);
  return u;
}

}  // namespace cohort::test

/// Skips the rest of a test case when multicast does not work here: the message says so plainly
/// (it is not a pass).
#define COHORT_REQUIRE_MULTICAST(group, port)                        \
  do {                                                               \
    std::string why_ = ::cohort::test::multicast_probe(group, port); \
    if (!why_.empty()) {                                             \
      MESSAGE("SKIPPED: multicast unavailable: " << why_);           \
      return;                                                        \
    }                                                                \
  } while (0)
