#include "protocols/builtin.hpp"

#include "protocols/auth.hpp"
#include "protocols/delay.hpp"
#include "protocols/discard.hpp"
#include "protocols/fd_all.hpp"
#include "protocols/frag.hpp"
#include "protocols/gms.hpp"
#include "protocols/loopback.hpp"
#include "protocols/merge.hpp"
#include "protocols/nakack.hpp"
#include "protocols/raft/client_protocol.hpp"
#include "protocols/raft/election_protocol.hpp"
#include "protocols/raft/replication_protocol.hpp"
#include "protocols/sym_encrypt.hpp"
#include "protocols/tcp.hpp"
#include "protocols/udp.hpp"
#include "protocols/unicast.hpp"
#include "protocols/verify_suspect.hpp"
#include "stack/protocol_registry.hpp"
#include "stack/sim/sim_transport.hpp"

namespace cohort {

void register_builtin_protocols() {
  register_protocol<Loopback>("LOOPBACK");
  register_protocol<Tcp>("TCP");
  register_protocol<Udp>("UDP");
  register_protocol<Frag>("FRAG");
  register_protocol<Discard>("DISCARD");
  register_protocol<Delay>("DELAY");
  register_protocol<raft::ElectionProtocol>("ELECTION");
  register_protocol<raft::ReplicationProtocol>("REPLICATION");
  register_protocol<raft::ClientProtocol>("CLIENT");
  register_protocol<SymEncrypt>("SYM_ENCRYPT");
  register_protocol<Unicast>("UNICAST");
  register_protocol<Nakack>("NAKACK");
  register_protocol<Gms>("GMS");
  register_protocol<FdAll>("FD_ALL");
  register_protocol<VerifySuspect>("VERIFY_SUSPECT");
  register_protocol<Merge>("MERGE");
  register_protocol<Auth>("AUTH");
  register_sym_encrypt_header();
  register_auth_header();  // decodable even in stacks without AUTH (its messages are dropped)
  sim::register_sim_transport();
}

}  // namespace cohort
