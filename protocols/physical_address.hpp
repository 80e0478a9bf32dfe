#pragma once
// Physical addresses of the IP transports (TCP, UDP) as text: "host:port", with IPv6 hosts in
// brackets ("[::1]:7800"). Discovery protocols and transports exchange them in this form
// (event::add_physical_address, event::send_to_physical), so the layers above the transport never
// see a socket type. Hosts are numeric IP addresses ("localhost" is accepted as 127.0.0.1): the
// transport must not block on DNS on its loop; DNS_PING resolves names off the loop.
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cohort::physical {

/// A numeric IP address; "localhost" means 127.0.0.1. nullopt if not an IP address.
inline std::optional<boost::asio::ip::address> parse_ip(std::string_view host) {
  if (host == "localhost") host = "127.0.0.1";
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(std::string(host), ec);
  if (ec) return std::nullopt;
  return a;
}

inline std::optional<uint16_t> parse_port(std::string_view s) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

/// "host:port" / "[v6]:port" → endpoint; nullopt when malformed.
template <typename Endpoint = boost::asio::ip::tcp::endpoint>
std::optional<Endpoint> parse(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto ip = parse_ip(host);
  auto port = parse_port(text.substr(colon + 1));
  if (!ip || !port) return std::nullopt;
  return Endpoint(*ip, *port);
}

/// The canonical text of an address and port (what parse() accepts).
inline std::string format(const boost::asio::ip::address& a, uint16_t port) {
  if (a.is_v6()) return "[" + a.to_string() + "]:" + std::to_string(port);
  return a.to_string() + ":" + std::to_string(port);
}

template <typename Endpoint>
std::string format(const Endpoint& e) {
  return format(e.address(), e.port());
}

/// Canonicalises "host:port" (e.g. "localhost:7800" → "127.0.0.1:7800"); "" when malformed.
inline std::string canonical(std::string_view text) {
  auto e = parse(text);
  return e ? format(*e) : std::string();
}

}  // namespace cohort::physical
