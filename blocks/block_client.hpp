#pragma once
// BlockClient: what the typed blocks (Counter, Lock, Map clients) need from a connection to the
// Raft group. RaftHandle implements it inside a member; RemoteClient over the CLIENT port.
// Results arrive as a status byte + body (blocks/block_status.hpp) or a ClientErrc.
#include <functional>
#include <string>
#include <system_error>

#include "protocols/raft/raft_events.hpp"
#include "protocols/raft/state_machine.hpp"
#include "stack/buffer.hpp"
#include "stack/runtime.hpp"

namespace cohort {

class BlockClient {
 public:
  using ResultHandler = std::function<void(std::error_code, Buffer result)>;
  using ReadHandler = std::function<void(std::error_code, raft::ReadOutcome)>;
  using NotificationListener = std::function<void(const Notification&)>;

  virtual ~BlockClient() = default;
  /// Replicates `command` for `service` exactly once (client session); thread-safe.
  virtual void submit(std::string service, Buffer command, ResultHandler done,
                      Duration timeout = {}) = 0;
  /// A read-only query for `service`; thread-safe.
  virtual void read(std::string service, Buffer query, raft::ReadMode mode, ReadHandler done,
                    Duration timeout = {}) = 0;
  /// Notifications for this client's session from `service` (e.g. lock grants).
  virtual void on_notification(std::string service, NotificationListener l) = 0;
};

}  // namespace cohort
