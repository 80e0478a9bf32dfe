#pragma once
// RaftHandle: the building blocks' door to a Raft group (DESIGN.md §7), like jgroups-raft's
// RaftHandle. It owns the replicated state machine — a SessionStateMachine around a
// ServiceRegistry of named services (map, counters, locks, your own) — hands it to REPLICATION,
// and submits commands through CLIENT inside one client session per handle, so a retried command
// is applied exactly once (thesis §6.3).
//
// Use: create the channel from a stack with ELECTION, REPLICATION and CLIENT; construct the
// handle and add every service *before* Channel::connect (entries are applied from the start);
// then call submit/read from any thread. Callbacks run on the channel's loop: keep them short.
// Completion-token forms of submit and read (callback, use_future, use_awaitable):
// raft_handle_async.hpp.
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "blocks/block_client.hpp"
#include "blocks/service_registry.hpp"
#include "blocks/session_state_machine.hpp"
#include "blocks/session_submitter.hpp"
#include "protocols/raft/client_errors.hpp"
#include "protocols/raft/raft_events.hpp"
#include "stack/channel.hpp"

namespace cohort {

using raft::ClientErrc;
using raft::ReadMode;
using raft::ReadOutcome;

class RaftHandle : public BlockClient {
 public:
  using LeaderListener = std::function<void(const raft::LeaderChanged&)>;

  explicit RaftHandle(Channel& channel, SessionConfig config = {});
  ~RaftHandle() override;
  RaftHandle(const RaftHandle&) = delete;
  RaftHandle& operator=(const RaftHandle&) = delete;

  /// Adds a named service (before connect; the same names on every member).
  template <class T>
  T& add_service(std::string name, std::unique_ptr<T> service) {
    return registry_->add(std::move(name), std::move(service));
  }

  /// Replicates `command` for `service`; `done` gets its result (status byte + body, see
  /// blocks/block_status.hpp) or a ClientErrc. Exactly once, within `timeout` (0 = CLIENT's).
  void submit(std::string service, Buffer command, ResultHandler done,
              Duration timeout = {}) override;
  /// A read-only query for `service` (no log entry).
  void read(std::string service, Buffer query, ReadMode mode, ReadHandler done,
            Duration timeout = {}) override;
  /// submit() and read() for a caller already on the channel's loop thread: no post, so the
  /// commands a caller hands over in one loop task go out in one REPLICATION drive (the HTTP
  /// gateway batches its requests that way).
  void submit_on_loop(std::string_view service, const Buffer& command, ResultHandler done,
                      Duration timeout = {});
  void read_on_loop(std::string_view service, const Buffer& query, ReadMode mode, ReadHandler done,
                    Duration timeout = {});

  /// Leader / term as last reported (thread-safe).
  std::string leader() const;
  raft::Term term() const;
  bool is_leader() const;
  const std::string& raft_id() const { return raft_id_; }
  Channel& channel() { return channel_; }
  /// Runs on the loop at every leader or term change.
  void on_leader_change(LeaderListener l);
  /// Runs on the loop for every notification addressed to this handle's session by `service`
  /// (e.g. a lock granted to a waiter).
  void on_notification(std::string service, NotificationListener l) override;

  /// Membership (on the leader; otherwise not_leader with the hint in `error`).
  void add_server(const std::string& raft_id, std::function<void(raft::ProposeOutcome)> done);
  void remove_server(const std::string& raft_id, std::function<void(raft::ProposeOutcome)> done);
  void transfer_leadership(const std::string& raft_id, std::function<void(bool)> done);
  void snapshot(std::function<void(bool)> done);
  void status(std::function<void(raft::RaftStatus)> done);

  /// The local state machine (loop thread only), e.g. for listeners.
  ServiceRegistry& services() { return *registry_; }
  SessionStateMachine& state_machine() { return *sm_; }

 private:
  void on_event(const Event& ev);

  Channel& channel_;
  SessionConfig config_;
  ServiceRegistry* registry_;
  std::unique_ptr<SessionStateMachine> sm_;
  std::string raft_id_;
  std::unique_ptr<SessionSubmitter> submitter_;  // loop thread only
  uint64_t event_listener_ = 0;
  std::vector<LeaderListener> leader_listeners_;
  std::map<std::string, std::vector<NotificationListener>> notification_listeners_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // shared with other threads
  mutable std::mutex mu_;
  raft::LeaderChanged leader_state_;
};

}  // namespace cohort
