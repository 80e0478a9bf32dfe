#include "discovery/ping.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "stack/protocol_ids.hpp"
#include "stack/transport.hpp"

namespace cohort {

Ping::Ping() : Discovery("PING", protocol_id::ping) {}

void Ping::init() {
  Discovery::init();
  Protocol* p = down_protocol();
  while (p && !p->is_transport())
    p = p->down_protocol();
  auto* transport = dynamic_cast<Transport*>(p);
  if (!transport) throw std::invalid_argument("PING: needs a transport below it (UDP)");
  if (!transport->supports_multicast())
    throw std::invalid_argument(
        fmt::format("PING: needs a transport that supports multicast (UDP), not {}; use TCPPING, "
                    "FILE_PING or DNS_PING with it",
                    transport->name()));
}

void Ping::find_candidates() {
  send_request_to_group();
}

}  // namespace cohort
