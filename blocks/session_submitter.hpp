#pragma once
// SessionSubmitter: the client half of exactly-once (thesis §6.3), shared by RaftHandle (in a
// member) and RemoteClient (over TCP). It opens a session on first use, wraps each command in a
// session envelope with the next sequence number, resubmits commands whose session expired in a
// new session (they were never applied), and sends keep-alives while idle so the session lives
// exactly as long as its owner does. All calls on one loop thread.
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "blocks/client_session.hpp"
#include "blocks/session_state_machine.hpp"
#include "stack/runtime.hpp"

namespace cohort {

class SessionSubmitter {
 public:
  using ResultHandler = std::function<void(std::error_code, Buffer result)>;
  /// Sends one envelope to the Raft group and reports its result (or a ClientErrc).
  using RawSubmit = std::function<void(Buffer envelope, Duration timeout, ResultHandler done)>;

  SessionSubmitter(std::string owner, SessionConfig config, Runtime& loop, RawSubmit raw);
  ~SessionSubmitter();

  /// Replicates a ServiceRegistry-wrapped command exactly once.
  void submit(Buffer wrapped, ResultHandler done, Duration timeout);
  /// A notification reached this client: if it says our session ended, forget the session.
  void session_ended(uint64_t session_id);
  std::optional<uint64_t> session_id() const;
  /// Called with each newly opened session id (RemoteClient subscribes to its notifications).
  std::function<void(uint64_t)> on_session_opened;

 private:
  struct Pending {
    Buffer wrapped;
    ResultHandler done;
    Duration timeout;
  };
  void open_session();
  void send(Pending p);
  void keep_alive();

  std::string owner_;
  SessionConfig config_;
  Runtime& loop_;
  RawSubmit raw_;
  std::optional<ClientSession> session_;
  bool opening_ = false;
  std::vector<Pending> waiting_;
  TimerHandle keep_alive_timer_;
  Duration last_activity_{0};
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace cohort
