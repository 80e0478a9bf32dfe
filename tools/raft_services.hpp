#pragma once
// The building blocks a `cohort node` serves when its stack has REPLICATION: a RaftHandle with
// the stock services "counter", "lock", "map" (string → string)
// and "v2" (the etcd v2 keys store of the HTTP gateway), as the shells and the demo
// expect.
#include <memory>

#include "blocks/counter_service.hpp"
#include "blocks/lock_service.hpp"
#include "blocks/raft_handle.hpp"
#include "blocks/replicated_map.hpp"
#include "blocks/v2_store.hpp"

namespace cohort::tools {

struct RaftServices {
  std::unique_ptr<RaftHandle> handle;
  CounterService* counters = nullptr;
  LockService* locks = nullptr;
  ReplicatedMap<std::string, std::string>* map = nullptr;
  V2Store* v2 = nullptr;  ///< the etcd v2 keys store ("v2"), served by `cohort node --http`
};

/// Attaches the stock services to `ch` (before connect). nullptr if the stack has no
/// REPLICATION. `session_timeout_ms` bounds how long a crashed client's locks stay held.
std::unique_ptr<RaftServices> attach_raft_services(Channel& ch,
                                                   uint64_t session_timeout_ms = 10'000);

/// Sets COHORT_RAFT_ID=name and COHORT_LOG_DIR=./cohort-data/name unless already defined.
void default_raft_overrides(std::map<std::string, std::string>& overrides, const std::string& name);

}  // namespace cohort::tools
