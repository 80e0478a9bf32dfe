#pragma once
// LockService: named, fenced locks replicated through Raft (JGroups' LockService shape).
// Commands and results: lock_codec.hpp. Wrap it (through a ServiceRegistry) in a
// SessionStateMachine: every lock is held by a client session, i.e. by (owner, session).
//
// What you can rely on:
//  - Mutual exclusion in the log: at any log index at most one session holds a lock.
//  - Fencing token: every grant carries the log index of the entry whose application granted
//    it. Tokens of one lock strictly increase from grant to grant (at most one grant per lock
//    per entry; a waiter whose predecessor was granted and released within one entry is granted
//    at the next applied entry). A resource that remembers the largest token it has accepted
//    for a lock and rejects smaller ones is safe from a stale holder: one that still believes
//    it holds the lock after it was lost (process pause, partition, slow network).
//  - A lock is lost only when (a) its holder unlocks it, (b) the holder's session is closed,
//    or (c) the holder's session expires: no entry from it (command or keep_alive) for more
//    than session_timeout_ms of cluster time (SessionConfig). Never while the session is live:
//    not on a leader change, a member crash or restart, or a partition shorter than the
//    timeout. The holder may learn of the loss late — hence the fencing token.
//  - Waiters are granted in FIFO order. A lock that is queued is granted during the apply of
//    another entry (an unlock, a close, an expiry); the grant is reported as a Notification to
//    the waiter's session (lock_codec::decode_grant), and is also visible through `holder`.
//    A grant may go to a session that expires in the same entry; its owner then also gets the
//    session's expiry notification.
//  - try_lock never waits. A try_lock with a timeout is the client's: lock, and if no grant
//    arrives in time, cancel; cancel's result says whether the grant won the race (then the
//    caller holds the lock and should unlock it).
//  - Locks are not reentrant: lock by the holder returns the current grant; one unlock
//    releases.
// Wait queues are bounded by the number of live sessions (SessionConfig::max_sessions).
//
// Lock listeners run on every member, synchronously inside apply(), once per acquisition and
// release (a release is reported before the grant to the next waiter); they are local, not
// called by restore(), and must not call back into the service nor add or remove listeners.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "blocks/lock_codec.hpp"
#include "blocks/state_machine.hpp"

namespace cohort {

struct LockEvent {
  enum class Kind : uint8_t { acquired, released };
  enum class Reason : uint8_t { granted, unlocked, session_ended };
  Kind kind = Kind::acquired;
  Reason reason = Reason::granted;
  std::string name;
  uint64_t session_id = 0;
  std::string owner;
  uint64_t token = 0;  ///< the grant's fencing token
};

class LockService : public StateMachine {
 public:
  using Listener = std::function<void(const LockEvent&)>;

  /// Registers a listener; returns an id for remove_listener.
  uint64_t add_listener(Listener l);
  void remove_listener(uint64_t id) { listeners_.erase(id); }

  /// This member's view of a lock (stale unless made fresh by the caller).
  LockInfo info(std::string_view name) const;
  /// Locks known (held, or free with a pending grant).
  size_t lock_count() const { return locks_.size(); }

  Buffer apply(const ApplyContext& ctx, const Buffer& command) override;
  /// Only `holder`; any other op gets write_in_query.
  Buffer query(const Buffer& query) const override;
  Buffer snapshot() const override;
  void restore(const Buffer& snapshot) override;
  /// Runs the grants deferred from an earlier entry.
  void advance_time(const ApplyContext& ctx) override;
  /// Removes the session from every wait queue, then releases every lock it holds (granting
  /// each to its next waiter).
  void session_closed(const ApplyContext& ctx, uint64_t session_id) override;
  std::vector<Notification> take_notifications() override;

 private:
  struct Holder {
    uint64_t session_id = 0;
    std::string owner;
    uint64_t token = 0;
  };
  struct Waiter {
    uint64_t session_id = 0;
    std::string owner;
  };
  struct LockState {
    std::optional<Holder> holder;
    std::deque<Waiter> waiters;
  };

  void begin_entry(const ApplyContext& ctx);
  Buffer acquire(const ApplyContext& ctx, const std::string& name, bool wait);
  Buffer unlock(const ApplyContext& ctx, const std::string& name);
  Buffer cancel(const ApplyContext& ctx, const std::string& name);
  void grant(const ApplyContext& ctx, const std::string& name, LockState& l, Waiter w);
  void release(const ApplyContext& ctx, const std::string& name, LockEvent::Reason why);
  void grant_next(const ApplyContext& ctx, const std::string& name);
  void forget_if_idle(const std::string& name);
  void emit(const LockEvent& e);
  static std::optional<uint64_t> position(const LockState& l, uint64_t session_id);

  // Replicated state (in the snapshot).
  std::map<std::string, LockState, std::less<>> locks_;
  std::set<std::string, std::less<>> deferred_;  ///< free locks whose waiters wait for an entry
  // Derived from locks_ (rebuilt by restore): lock names each session holds or waits for.
  std::map<uint64_t, std::set<std::string>> by_session_;
  // Per-entry bookkeeping: the entry being applied and the locks granted in it.
  uint64_t entry_index_ = 0;
  std::set<std::string, std::less<>> granted_in_entry_;
  // Local.
  std::vector<Notification> notifications_;
  std::map<uint64_t, Listener> listeners_;
  uint64_t last_listener_id_ = 0;
};

}  // namespace cohort
