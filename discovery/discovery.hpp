#pragma once
// Discovery: the base of the discovery protocols (TCPPING, FILE_PING, PING, DNS_PING). It sits
// directly above the transport and finds the other members of the cluster:
//
//   * at connect and every `interval`, the subclass's find_candidates() sends a discovery request
//     to every place a member may be: a physical address (send_request(phys): TCPPING's
//     initial_hosts, FILE_PING's files, DNS_PING's records) or the whole group at once
//     (send_request_to_group(): PING over IP multicast). The base also re-contacts every member it
//     knows, so a subclass lists only its own candidates.
//   * a request carries the sender's MemberInfo (logical address, physical "host:port", join
//     rank); the receiver tells its transport where the sender is (event::add_physical_address)
//     and answers with its own info plus the members it knows (gossip: those it has not heard of
//     are then asked directly, so one reachable initial host is enough to find everybody).
//   * members not heard from directly for `member_timeout` are dropped (and the transport told,
//     event::remove_physical_address); a member that disconnects sends a `leave` to the others.
//
// Events: answers event::find_members (the live members found, self included, in view order),
// sends event::members_found up whenever that set changes, and — until GMS exists — installs
// views itself (`views="true"`, the default; GMS turns it off): a view_change up (and down) with
// the found members ordered by (join rank, address), coordinator first. The join rank makes
// every member compute the same order: a member fixes its rank `join_timeout` after connecting,
// as 1 + the highest rank it found (1 when alone), so members that started together are ordered
// by address and later ones are appended. Members still joining (rank 0) are not in views yet.
// View ids are a local counter (GMS will agree on them).
//
// Wire: a DiscoveryHeader (one byte: request/response/leave) under the subclass's protocol id,
// and a payload of MemberInfo records. Messages are INTERNAL (never reach the application).
//
// Transports used with discovery must implement event::get_physical_address for the local address
// (their own listening address), event::add_physical_address, event::remove_physical_address and
// event::send_to_physical (stack/event.hpp).
//
// Loop affinity: everything runs on the channel's loop.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "stack/header.hpp"
#include "stack/protocol.hpp"
#include "stack/view.hpp"

namespace cohort {

/// What a member says about itself in discovery messages (and what FILE_PING writes to files).
struct MemberInfo {
  Address address;
  std::string physical;    ///< "host:port" of its transport
  uint64_t join_rank = 0;  ///< 0 while joining

  void encode(codec::Writer& w) const;
  static MemberInfo decode(codec::Reader& r);
};

class DiscoveryHeader : public Header {
 public:
  enum Type : uint8_t { request = 1, response = 2, leave = 3 };
  explicit DiscoveryHeader(Type t) : type(t) {}
  Type type;
  void encode(codec::Writer& w) const override { w.u8(type); }
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override;
};

class Discovery : public Protocol {
 public:
  /// `name`: the XML element name, a string literal (it names the header id in the registry).
  /// `header_id`: the subclass's protocol id (stack/protocol_ids.hpp); its header is registered.
  Discovery(const char* name, uint16_t header_id);
  ~Discovery() override;

  void init() override;
  void stop() override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;
  std::any down(Event& ev) override;

  /// The live members found (self included), in view order.
  std::vector<Address> members() const;
  /// Our join rank: 0 while joining, then fixed (views order members by rank, then address).
  uint64_t join_rank() const { return join_rank_; }

 protected:
  // --- Subclass interface ---------------------------------------------------------------------
  /// Sends discovery requests to this protocol's candidates (send_request / send_request_to_group).
  /// Called right after connect and then every `interval`.
  virtual void find_candidates() = 0;
  /// After the transport is connected and local_physical() is known (before the first
  /// find_candidates()).
  virtual void on_connect() {}
  /// Before leaving (the `leave` messages are sent after this).
  virtual void on_disconnect() {}

  // --- Helpers for subclasses -----------------------------------------------------------------
  /// Sends a request to a physical "host:port" (skips our own address, and addresses already
  /// asked in this round).
  void send_request(const std::string& physical);
  /// Sends a request to the whole group (a multicast transport reaches everybody at once).
  void send_request_to_group();
  const Address& local_address() const { return local_; }
  /// Our transport's physical address ("host:port"); set at connect.
  const std::string& local_physical() const { return local_physical_; }
  const std::string& cluster() const { return cluster_; }
  bool connected() const { return connected_; }
  /// Our own MemberInfo as we advertise it now.
  MemberInfo self_info() const;

  // Attributes (declared by the base).
  Duration interval_ = 1s;
  Duration member_timeout_ = 5s;
  Duration join_timeout_ = 500ms;
  bool views_ = true;

 private:
  struct Member {
    std::string physical;
    uint64_t join_rank = 0;
    Duration last_heard{};
  };
  void handle_connect();
  void handle_disconnect();
  void tick();
  void fix_join_rank();
  void handle(Message& msg, const DiscoveryHeader& h);
  /// Records direct contact with `info` (the sender of a message).
  void heard(const MemberInfo& info);
  void forget(const Address& a);
  void send(Message msg, const std::string* physical);
  Message make_message(DiscoveryHeader::Type type, bool with_known) const;
  void membership_changed();

  uint16_t id_;
  Address local_;
  std::string cluster_;
  std::string local_physical_;
  uint64_t join_rank_ = 0;
  bool connected_ = false;
  std::map<Address, Member> members_;  // others, heard from directly
  std::vector<Address> last_found_;    // last members_found sent up
  uint64_t view_counter_ = 0;
  std::vector<Address> current_view_members_;
  std::set<std::string> asked_;  // physical addresses asked in the current round
  TimerHandle tick_timer_, join_timer_;

  uint64_t& requests_sent_;
  uint64_t& requests_received_;
  uint64_t& responses_received_;
  uint64_t& members_expired_;
  uint64_t& bad_messages_;
  uint64_t& views_installed_;
};

}  // namespace cohort
