#include "tools/raft_services.hpp"

#include <cstdlib>
#include <map>
#include <string>

namespace cohort::tools {

std::unique_ptr<RaftServices> attach_raft_services(Channel& ch, uint64_t session_timeout_ms) {
  if (!ch.stack().find("REPLICATION")) return nullptr;
  auto s = std::make_unique<RaftServices>();
  SessionConfig cfg;
  cfg.session_timeout_ms = session_timeout_ms;
  s->handle = std::make_unique<RaftHandle>(ch, cfg);
  s->counters = &s->handle->add_service("counter", std::make_unique<CounterService>());
  s->locks = &s->handle->add_service("lock", std::make_unique<LockService>());
  s->map =
      &s->handle->add_service("map", std::make_unique<ReplicatedMap<std::string, std::string>>());
  s->v2 = &s->handle->add_service("v2", std::make_unique<V2Store>());
  return s;
}

void default_raft_overrides(std::map<std::string, std::string>& overrides,
                            const std::string& name) {
  auto defined = [&](const char* var) { return overrides.count(var) || std::getenv(var); };
  if (!defined("COHORT_RAFT_ID")) overrides["COHORT_RAFT_ID"] = name;
  if (!defined("COHORT_LOG_DIR")) overrides["COHORT_LOG_DIR"] = "cohort-data/" + name;
}

}  // namespace cohort::tools
