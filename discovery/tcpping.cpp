#include "discovery/tcpping.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "protocols/physical_address.hpp"
#include "stack/protocol_ids.hpp"

namespace cohort {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

}  // namespace

std::vector<std::string> parse_initial_hosts(std::string_view list, int port_range) {
  if (port_range < 0 || port_range > 1000)
    throw std::invalid_argument("port_range: must be between 0 and 1000");
  std::vector<std::string> out;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view entry = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    if (entry.empty()) continue;
    std::string_view host, port;
    if (entry.back() == ']' && entry.find('[') != std::string_view::npos &&
        entry.front() != '[') {  // host[port]
      size_t open = entry.rfind('[');
      host = entry.substr(0, open);
      port = entry.substr(open + 1, entry.size() - open - 2);
    } else if (size_t colon = entry.rfind(':'); colon != std::string_view::npos) {  // host:port
      host = entry.substr(0, colon);
      port = entry.substr(colon + 1);
      if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    } else {
      throw std::invalid_argument(
          fmt::format("initial_hosts: '{}' is not host[port] or host:port", entry));
    }
    auto ip = physical::parse_ip(host);
    if (!ip)
      throw std::invalid_argument(
          fmt::format("initial_hosts: '{}' is not a numeric IP address", host));
    auto p = physical::parse_port(port);
    if (!p || *p == 0)
      throw std::invalid_argument(fmt::format("initial_hosts: '{}' is not a port", port));
    for (int i = 0; i <= port_range && *p + i <= 65535; ++i)
      out.push_back(physical::format(*ip, static_cast<uint16_t>(*p + i)));
  }
  return out;
}

Tcpping::Tcpping() : Discovery("TCPPING", protocol_id::tcpping) {
  declare("initial_hosts", initial_hosts_,
          "members to ask: host[port] or host:port, comma-separated", true);
  declare("port_range", port_range_, "also ask the next port_range ports of each initial host");
}

void Tcpping::init() {
  Discovery::init();
  candidates_ = parse_initial_hosts(initial_hosts_, port_range_);
  if (candidates_.empty()) throw std::invalid_argument("initial_hosts: lists no host");
}

void Tcpping::find_candidates() {
  for (auto& c : candidates_)
    send_request(c);
}

}  // namespace cohort
