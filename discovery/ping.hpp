#pragma once
// PING: discovery by IP multicast (JGroups' PING). At connect and every `interval` one discovery
// request goes to the whole group as a group message, which a multicast transport (UDP) sends as
// one datagram to every member at once; each member answers the sender directly (see
// discovery/discovery.hpp). Needs no configuration beyond the transport's multicast group.
//
// init() fails ("PING: needs a transport that supports multicast ...") when the transport below
// cannot multicast (TCP would turn the request into one message per *known* member, which finds
// nobody new): use TCPPING, FILE_PING or DNS_PING there.
#include "discovery/discovery.hpp"

namespace cohort {

class Ping : public Discovery {
 public:
  Ping();
  void init() override;

 protected:
  void find_candidates() override;
};

}  // namespace cohort
