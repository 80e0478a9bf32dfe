#pragma once
// ServiceRegistry: one Raft group, several named services (the map, the counter service, the
// lock service, user machines). A composite StateMachine that routes each command and query to
// the service named in it.
//
// Command / query format (codec):  str service_name, then the service's own bytes (the rest).
// Results: the service's result unchanged; unknown_service or malformed from the registry.
// Snapshot: for every service in name order, str name + bytes snapshot (deterministic).
// advance_time and session_closed go to every service in name order; notifications are
// tagged with the producing service's name.
//
// Register every service before the first entry is applied, with the same names on every
// member; the set of services is configuration, not replicated state.
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blocks/block_assert.hpp"
#include "blocks/state_machine.hpp"

namespace cohort {

/// Longest service name, in bytes.
inline constexpr size_t max_service_name_bytes = 64;

class ServiceRegistry : public StateMachine {
 public:
  /// Adds a service and returns it. Preconditions: the name is new, non-empty and at most
  /// max_service_name_bytes long; service is not null.
  template <class T>
  T& add(std::string name, std::unique_ptr<T> service) {
    BLOCK_ASSERT(service != nullptr);
    T& ref = *service;
    add_service(std::move(name), std::move(service));
    return ref;
  }
  /// The service of that name, or nullptr.
  StateMachine* find(std::string_view name) const;

  /// Wraps a service's command (or query) for this registry.
  static Buffer wrap(std::string_view service, const Buffer& payload);

  Buffer apply(const ApplyContext& ctx, const Buffer& command) override;
  Buffer query(const Buffer& query) const override;
  Buffer snapshot() const override;
  /// Restores every service. The snapshot must name exactly the registered services; on any
  /// error (SnapshotError) every service is put back as it was.
  void restore(const Buffer& snapshot) override;
  void advance_time(const ApplyContext& ctx) override;
  void session_closed(const ApplyContext& ctx, uint64_t session_id) override;
  std::vector<Notification> take_notifications() override;

 private:
  void add_service(std::string name, std::unique_ptr<StateMachine> service);
  std::map<std::string, std::unique_ptr<StateMachine>, std::less<>> services_;
};

}  // namespace cohort
