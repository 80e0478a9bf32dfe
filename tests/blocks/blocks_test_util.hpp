#pragma once
// Helpers for the building-block tests: a "group" (SessionStateMachine over a ServiceRegistry
// with a map, the counter service and the lock service) fed entries by hand, the way the
// Raft layer will: apply, then advance_time, with an increasing index and cluster time.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "blocks/block_status.hpp"
#include "blocks/client_session.hpp"
#include "blocks/counter_service.hpp"
#include "blocks/lock_service.hpp"
#include "blocks/replicated_map.hpp"
#include "blocks/service_registry.hpp"
#include "blocks/session_envelope.hpp"
#include "blocks/session_state_machine.hpp"

namespace cohort::test {

using StringMap = ReplicatedMap<std::string, std::string>;

inline ApplyContext ctx_at(uint64_t index, uint64_t time_ms, uint64_t session = 0,
                           std::string_view owner = {}) {
  ApplyContext c;
  c.index = index;
  c.term = 1;
  c.cluster_time_ms = time_ms;
  c.session_id = session;
  c.session_owner = owner;
  return c;
}

/// One member's replicated machine, driven entry by entry.
struct Group {
  explicit Group(SessionConfig config = {}) {
    auto registry = std::make_unique<ServiceRegistry>();
    map = &registry->add("map", std::make_unique<StringMap>());
    counters = &registry->add("counter", std::make_unique<CounterService>());
    locks = &registry->add("lock", std::make_unique<LockService>());
    registry_ = registry.get();
    machine = std::make_unique<SessionStateMachine>(std::move(registry), config);
  }

  /// Applies one entry at the next index, at cluster time `time_ms`; returns its result.
  Buffer submit(const Envelope& e, uint64_t time_ms) { return submit_raw(encode(e), time_ms); }
  Buffer submit_raw(const Buffer& command, uint64_t time_ms) {
    ++index;
    now_ms = time_ms;
    auto c = ctx_at(index, time_ms);
    Buffer r = machine->apply(c, command);
    machine->advance_time(c);
    collect();
    return r;
  }
  /// An entry without a command for these machines (a Raft no-op), at `time_ms`.
  void tick(uint64_t time_ms) {
    ++index;
    now_ms = time_ms;
    machine->advance_time(ctx_at(index, time_ms));
    collect();
  }
  /// Opens a session for `owner`; returns its id.
  uint64_t open(const std::string& owner, uint64_t time_ms) {
    auto r = parse_result(submit(Envelope::open_session(owner), time_ms));
    REQUIRE(r.ok());
    auto id = decode_session_id(r.body);
    REQUIRE(id.has_value());
    return *id;
  }
  static Buffer to(std::string_view service, const Buffer& payload) {
    return ServiceRegistry::wrap(service, payload);
  }

  void collect() {
    for (auto& n : machine->take_notifications())
      notes.push_back(std::move(n));
  }

  std::unique_ptr<SessionStateMachine> machine;
  StringMap* map = nullptr;
  CounterService* counters = nullptr;
  LockService* locks = nullptr;
  uint64_t index = 0;
  uint64_t now_ms = 0;
  std::vector<Notification> notes;

 private:
  ServiceRegistry* registry_ = nullptr;
};

/// Every strict prefix of a buffer, each in its own heap block (ASan catches over-reads).
inline std::vector<Buffer> strict_prefixes(const Buffer& b) {
  std::vector<Buffer> out;
  for (size_t n = 0; n < b.size(); ++n)
    out.push_back(Buffer::copy_of(b.span().first(n)));
  return out;
}

}  // namespace cohort::test
