#pragma once
// RaftHeader marks a message as carrying an encoded raft::Message in its payload, for the
// protocol whose id it is registered under (ELECTION or REPLICATION). It has no fields: the
// encoded Raft message names its own sender and receiver by raft id.
#include "stack/header.hpp"

namespace cohort::raft {

class RaftHeader : public Header {
 public:
  void encode(codec::Writer&) const override {}
  static HeaderPtr decode(codec::Reader&) { return instance(); }
  static const HeaderPtr& instance() {
    static const HeaderPtr h = std::make_shared<RaftHeader>();
    return h;
  }
};

}  // namespace cohort::raft
