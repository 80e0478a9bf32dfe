#pragma once
// ClientSession: the submitting side of a session (thesis §6.3), pure bookkeeping for the
// CLIENT protocol or a remote client: it numbers commands, remembers which are outstanding and
// computes acked_seq (every sequence below the lowest outstanding one has its result), so
// the SessionStateMachine can drop cached results. Retrying = resubmitting the same Envelope.
//
// Usage: open with Envelope::open_session(owner); when its result gives the session id,
// construct ClientSession(id). For each command: e = next(payload), submit e (retry e as
// often as needed), then completed(e.sequence) once its result arrives. Send keep_alive()
// more often than the session timeout when idle.
//
// Not thread-safe: one loop owns it.
#include <cstdint>
#include <set>

#include "blocks/session_envelope.hpp"

namespace cohort {

class ClientSession {
 public:
  explicit ClientSession(uint64_t session_id);

  uint64_t id() const { return id_; }
  /// A new command with the next sequence number; it stays outstanding until completed().
  Envelope next(Buffer payload);
  /// The result of `sequence` arrived. Unknown or repeated sequences are ignored.
  void completed(uint64_t sequence);
  /// Every sequence <= this has its result at the client.
  uint64_t acked_seq() const;
  Envelope keep_alive() const { return Envelope::keep_alive(id_, acked_seq()); }
  Envelope close() const { return Envelope::close_session(id_); }
  size_t outstanding() const { return outstanding_.size(); }

 private:
  uint64_t id_;
  uint64_t next_seq_ = 1;
  std::set<uint64_t> outstanding_;
};

}  // namespace cohort
