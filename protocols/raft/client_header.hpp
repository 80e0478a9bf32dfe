#pragma once
// CLIENT's header: forwarding of commands to the leader, ReadIndex requests and the leader's
// confirmation rounds (thesis §6.4). The command, result or query travels as the payload.
#include <cstdint>
#include <string>

#include "stack/header.hpp"

namespace cohort::raft {

class ClientHeader : public Header {
 public:
  enum Type : uint8_t {
    forward = 1,           ///< follower → leader: propose the payload; value = request id
    forward_reply = 2,     ///< leader → origin: result payload, or error (+ leader hint)
    read_index = 3,        ///< follower → leader: what is the read index? value unused
    read_index_reply = 4,  ///< leader → origin: value = read index, or error
    ping = 5,              ///< leader → voters: still my term? value = round
    pong = 6,              ///< voter → leader: value = round, term = voter's term, ok
  };
  Type type = forward;
  uint64_t req_id = 0;
  uint64_t value = 0;
  uint64_t term = 0;
  bool ok = false;
  std::string error;  ///< "" = success
  std::string hint;   ///< leader hint (replies) or the sender's raft id (ping/pong)

  void encode(codec::Writer& w) const override;
  static HeaderPtr decode(codec::Reader& r);
};

}  // namespace cohort::raft
