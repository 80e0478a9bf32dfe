#include "blocks/client_session.hpp"

#include "blocks/block_assert.hpp"

namespace cohort {

ClientSession::ClientSession(uint64_t session_id) : id_(session_id) {
  BLOCK_ASSERT(id_ != 0);
}

Envelope ClientSession::next(Buffer payload) {
  const uint64_t seq = next_seq_++;
  outstanding_.insert(seq);
  return Envelope::command(id_, seq, acked_seq(), std::move(payload));
}

void ClientSession::completed(uint64_t sequence) {
  outstanding_.erase(sequence);
}

uint64_t ClientSession::acked_seq() const {
  return outstanding_.empty() ? next_seq_ - 1 : *outstanding_.begin() - 1;
}

}  // namespace cohort
