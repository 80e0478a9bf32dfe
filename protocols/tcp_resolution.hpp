#pragma once
// TCP's resolution of two connections to the same peer (both sides connected at once, or the peer
// reconnected), as pure rules: both ends must reach the same decision from what each of them
// sees, and must end the losing connection in an order that loses nothing written on it.
#include <string>

namespace cohort::tcp_resolution {

/// A hello arrived on an incoming connection while another connection to the same peer is
/// registered (`existing_outgoing`: we initiated that one). True: the incoming one wins.
/// Both incoming: the peer reconnected, the new one wins. Otherwise both sides connected at once:
/// the connection initiated by the side with the smaller physical address wins, on both ends.
inline bool incoming_wins(bool existing_outgoing, const std::string& peer_physical,
                          const std::string& own_physical) {
  return !existing_outgoing || peer_physical < own_physical;
}

/// Which end of a losing connection ends it. Its initiator (`loser_outgoing`) decides when the
/// winner's hello reaches it; it then half-closes after its last write and reads until EOF. The
/// acceptor writes nothing but its hello on it and waits for that EOF before closing: if it
/// half-closed first, an initiator that has not yet seen the winner's hello would take the EOF for
/// a lost connection and drop the messages still queued on it.
inline bool half_closes_first(bool loser_outgoing) {
  return loser_outgoing;
}

}  // namespace cohort::tcp_resolution
