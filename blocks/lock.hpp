#pragma once
// Lock: a named, fenced lock over any BlockClient — the client side of LockService, in the shape
// of JGroups' LockService (lock, try_lock, try_lock with a timeout, unlock, listeners).
//
//   Lock l(handle, handle.channel().runtime(), "leader-election");
//   l.lock([](std::error_code ec, uint64_t token) { ... write to the store, passing token ... });
//
// What you can rely on (the service's guarantees, lock_service.hpp, seen from the client):
//  - Mutual exclusion: at any point of the Raft log at most one client session holds the lock.
//    The holder is this client's session — so two Lock objects over the same BlockClient are the
//    SAME holder. Use one Lock per (client, name); give independent holders their own clients.
//  - Fencing token: every successful acquisition yields a token (the log index of the grant).
//    Tokens of one lock strictly increase from grant to grant, across leader changes and
//    crashes. The token is the only thing that protects a resource: pass it with every write
//    and have the resource reject a token smaller than the largest it has seen. Holding a
//    token says "I was granted the lock at that point of the log", nothing about now.
//  - The lock is lost only when (a) the holder unlocks it, or (b) the holder's session ends:
//    no entry (command or keep-alive) from it for more than SessionConfig::session_timeout_ms
//    of cluster time — e.g. its process crashed or was partitioned away for that long. Never
//    earlier: not on a leader change, a member crash or a short partition. The holder may learn
//    of the loss late (a paused process does not know it paused): check with still_held(), and
//    above all let the protected resource check the token.
//  - lock() waits (FIFO) until granted. A grant that happens later arrives as a notification;
//    while waiting the Lock also re-asks every poll_interval, so a lost notification (remote
//    client reconnecting) or an expired session (a new one is opened) does not hang it.
//  - try_lock() never waits: token, or nullopt when busy. try_lock(timeout) queues, and if no
//    grant arrives in time cancels; the cancel's answer decides: if the grant won the race the
//    caller gets the token (and holds the lock), else nullopt.
//  - Not reentrant: lock() by the holder gives the current token; one unlock() releases.
//  - One acquisition at a time per Lock: a second lock/try_lock while one is running fails with
//    std::errc::operation_in_progress.
//  - Errors: raft::ClientErrc (no_leader, timeout: outcome unknown) or BlockStatus (not_holder,
//    ...). After an acquisition that failed with an unknown outcome the Lock cancels what may be
//    queued and unlocks a grant that arrives later for nobody (a grant notification with no
//    acquisition waiting), so the lock is not held by accident.
//
// Threads: every method is thread-safe. Callbacks and listeners run on the client's thread or
// the timer runtime's loop (the same thread for a RaftHandle and its channel's runtime); never
// with an internal lock held. The BlockClient and the Runtime must outlive the Lock.
// Completion-token forms: lock_async.hpp.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>

#include "blocks/block_client.hpp"
#include "blocks/lock_codec.hpp"
#include "stack/runtime.hpp"

namespace cohort {

struct LockOptions {
  std::string service = "lock";                      ///< the LockService's registry name
  Duration timeout{};                                ///< per command (0 = CLIENT's default)
  Duration poll_interval = std::chrono::seconds(2);  ///< while queued: re-ask with `lock`
};

/// What a Lock's listeners hear about this client's hold of the lock.
struct LockClientEvent {
  enum class Kind : uint8_t {
    acquired,  ///< granted; token is the fencing token
    released,  ///< unlocked by this client
    lost,      ///< found not held any more (session expired): by unlock() or still_held()
  };
  Kind kind = Kind::acquired;
  std::string name;
  uint64_t token = 0;
};

class Lock {
 public:
  using TokenHandler = std::function<void(std::error_code, uint64_t token)>;
  /// token nullopt: not acquired (busy, or the timeout passed).
  using TryHandler = std::function<void(std::error_code, std::optional<uint64_t> token)>;
  using DoneHandler = std::function<void(std::error_code)>;
  using CheckHandler = std::function<void(std::error_code, bool held)>;
  using Listener = std::function<void(const LockClientEvent&)>;

  /// `timers` arms try_lock's timeout and the poll (any thread may call; see above).
  Lock(BlockClient& client, Runtime& timers, std::string name, LockOptions options = {});
  ~Lock();
  Lock(const Lock&) = delete;
  Lock& operator=(const Lock&) = delete;

  const std::string& name() const;

  /// Waits until the lock is granted to this client; gives the fencing token.
  void lock(TokenHandler done);
  /// Acquires only if free right now.
  void try_lock(TryHandler done);
  /// Queues for at most `timeout`, then cancels (see above).
  void try_lock(Duration timeout, TryHandler done);
  /// Releases; BlockStatus::not_holder if this client does not hold it (e.g. lost).
  void unlock(DoneHandler done);
  /// Reads the holder (linearizable) and says whether the last token this client was granted
  /// still holds the lock. A `true` is already history when it arrives: fence with the token.
  void still_held(CheckHandler done);
  /// The last token granted to this client, while it believes it holds the lock.
  std::optional<uint64_t> token() const;
  /// Listeners run after the state change, in the order added.
  void add_listener(Listener l);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cohort
