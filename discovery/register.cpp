#include "discovery/register.hpp"

#include "discovery/dns_ping.hpp"
#include "discovery/file_ping.hpp"
#include "discovery/ping.hpp"
#include "discovery/tcpping.hpp"
#include "stack/protocol_registry.hpp"

namespace cohort {

void register_discovery_protocols() {
  register_protocol<Tcpping>("TCPPING");
  register_protocol<FilePing>("FILE_PING");
  register_protocol<Ping>("PING");
  register_protocol<DnsPing>("DNS_PING");
}

}  // namespace cohort
