#include "protocols/raft/core/node.hpp"

namespace cohort::raft {

Node::Node(std::string id, LogStore& store, Configuration bootstrap, uint64_t seed,
           NodeOptions options)
    : election_(id, store.hard_state(), options.election, seed),
      replication_(id, store, std::move(bootstrap), options.replication) {
  election_.set_replication(&replication_);
  replication_.set_election(&election_);
  reported_ = election_.term_state();
}

void Node::tick() {
  election_.tick();
  replication_.tick();
}

void Node::step(const Message& m) {
  if (m.to != id()) return;
  if (std::holds_alternative<VoteRequest>(m.body) || std::holds_alternative<VoteResponse>(m.body) ||
      std::holds_alternative<TimeoutNow>(m.body)) {
    election_.step(m);
  } else {
    replication_.step(m);
  }
}

ProposeResult Node::check_leader() const {
  if (!replication_.is_leader()) return {0, ProposeError::not_leader};
  if (election_.transferring()) return {0, ProposeError::transferring};
  return {};
}

ProposeResult Node::propose(Buffer command) {
  if (auto r = check_leader(); !r.ok()) return r;
  return replication_.propose(std::move(command));
}

ProposeResult Node::add_server(const std::string& id) {
  if (auto r = check_leader(); !r.ok()) return r;
  return replication_.add_server(id);
}

ProposeResult Node::remove_server(const std::string& id) {
  if (auto r = check_leader(); !r.ok()) return r;
  return replication_.remove_server(id);
}

Ready Node::take_ready() {
  Ready rd;
  replication_.flush();
  rd.hard_state = election_.take_hard_state();
  rd.messages = election_.take_messages();
  auto more = replication_.take_messages();
  rd.messages.insert(rd.messages.end(), std::make_move_iterator(more.begin()),
                     std::make_move_iterator(more.end()));
  rd.needs_sync = replication_.needs_sync();
  ApplyBatch apply = replication_.take_apply();
  rd.snapshot = std::move(apply.snapshot);
  rd.committed = std::move(apply.entries);
  TermState now = election_.term_state();
  if (now != reported_) {
    rd.term_state = now;
    reported_ = now;
  }
  return rd;
}

}  // namespace cohort::raft
