#pragma once
// SessionTable: the client sessions of a SessionStateMachine (thesis §6.3) — who owns each
// session, when it was last active in cluster time, and the results of its commands that the
// client has not yet acknowledged. Pure data: no clock, deterministic iteration (ordered maps).
//
// Invariants: every session appears once in by_activity_ under its last_activity_ms; cached
// results all have sequence > acked_seq.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "stack/buffer.hpp"
#include "stack/codec.hpp"

namespace cohort {

struct ClientSessionState {
  uint64_t id = 0;
  std::string owner;
  uint64_t last_activity_ms = 0;       ///< cluster time of the last entry from this session
  uint64_t acked_seq = 0;              ///< results of sequences <= this were dropped
  std::map<uint64_t, Buffer> results;  ///< sequence → result, for sequences > acked_seq

  friend bool operator==(const ClientSessionState&, const ClientSessionState&) = default;
};

class SessionTable {
 public:
  size_t size() const { return sessions_.size(); }
  /// The session, or nullptr if there is none with that id.
  const ClientSessionState* find(uint64_t id) const;

  /// Adds a session. Precondition: no session has this id (ids are log indexes, unique).
  void open(uint64_t id, std::string owner, uint64_t now_ms);
  /// Removes a session; false if there was none.
  bool close(uint64_t id);
  /// Marks activity at now_ms (cluster time; never moves backwards).
  void touch(uint64_t id, uint64_t now_ms);
  /// Raises acked_seq (never lowers it) and drops the cached results at or below it.
  void acknowledge(uint64_t id, uint64_t acked_seq);
  /// The cached result of (id, seq), if any.
  const Buffer* cached(uint64_t id, uint64_t seq) const;
  /// Caches a result. Precondition: the session exists and seq > acked_seq.
  void store(uint64_t id, uint64_t seq, Buffer result);

  /// Removes and returns, oldest activity first (ties by id), every session with
  /// now_ms - last_activity_ms > timeout_ms.
  std::vector<uint64_t> expire(uint64_t now_ms, uint64_t timeout_ms);

  /// Appends the table to w (sessions in id order: deterministic bytes).
  void encode(codec::Writer& w) const;
  /// Reads a table written by encode(); nullopt if it does not decode.
  static std::optional<SessionTable> decode(codec::Reader& r);

  friend bool operator==(const SessionTable& a, const SessionTable& b) {
    return a.sessions_ == b.sessions_;
  }

 private:
  ClientSessionState& at(uint64_t id);
  std::map<uint64_t, ClientSessionState> sessions_;
  std::set<std::pair<uint64_t, uint64_t>> by_activity_;  ///< (last_activity_ms, id)
};

}  // namespace cohort
