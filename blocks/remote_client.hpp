#pragma once
// RemoteClient: the blocks from a program that is not a member, over the CLIENT port
// (protocols/raft/client_wire.hpp). Give it any members' ports; it connects to one and moves on
// to the next when that one fails, resending what was in flight (safe: commands carry client
// sessions, reads are reads). Redirection to the leader happens inside the member.
// Runs its own loop thread; every method is thread-safe; callbacks run on that thread.
#include <memory>
#include <string>
#include <vector>

#include "blocks/block_client.hpp"
#include "blocks/session_state_machine.hpp"

namespace cohort {

class RemoteClient : public BlockClient {
 public:
  /// `members`: "host:port" of one or more members.
  explicit RemoteClient(std::vector<std::string> members, std::string owner = "client",
                        SessionConfig config = {});
  ~RemoteClient() override;

  void submit(std::string service, Buffer command, ResultHandler done,
              Duration timeout = {}) override;
  void read(std::string service, Buffer query, raft::ReadMode mode, ReadHandler done,
            Duration timeout = {}) override;
  void on_notification(std::string service, NotificationListener l) override;
  /// The connected member's view of the group.
  void status(std::function<void(std::error_code, raft::RaftStatus)> done,
              Duration timeout = std::chrono::seconds(5));
  /// The member currently connected to ("" when none).
  std::string connected_to() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cohort
