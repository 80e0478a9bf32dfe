#pragma once
// Registers the discovery protocols (TCPPING, FILE_PING, PING, DNS_PING) with the
// ProtocolRegistry. protocols/ cannot depend on discovery/, so tools and tests call this next to
// register_builtin_protocols(). Idempotent.
namespace cohort {

void register_discovery_protocols();

}  // namespace cohort
