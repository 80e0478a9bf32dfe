#pragma once
// CLIENT: what applications and blocks use to reach the Raft group (thesis ch. 6).
// - Any member accepts a command (ClientSubmit) and forwards it to the leader; it retries across
//   leader changes until the deadline and fails with a typed error (ClientErrc) instead of
//   hanging. Retries resend the same bytes: exactly-once comes from client sessions in the
//   state machine (blocks/SessionStateMachine, §6.3), not from here.
// - Reads (ClientRead) three ways: linearizable via ReadIndex (§6.4; served on followers too:
//   the leader confirms its term with a majority, the follower waits until it has applied the
//   read index, then queries its own state machine), leader lease, or stale with the staleness
//   reported.
// Sits above REPLICATION; talks to it only through raft_events.hpp.
#include <map>
#include <set>
#include <vector>

#include "protocols/raft/raft_events.hpp"
#include "stack/protocol.hpp"

namespace cohort::raft {

class ClientHeader;
class ClientServer;

class ClientProtocol : public Protocol {
 public:
  ClientProtocol();
  ~ClientProtocol() override;
  void init() override;
  void start() override;
  void stop() override;
  /// The remote client port actually bound (0 when not serving).
  uint16_t client_port() const;
  void up(cohort::Message& msg) override;
  void up(cohort::MessageBatch& batch) override;
  std::any up(Event& ev) override;
  std::any down(Event& ev) override;

 private:
  struct Submit {
    Buffer command;
    std::function<void(std::error_code, Buffer, Index)> done;
    TimerHandle deadline, retry;
  };
  struct Read {
    Buffer query;
    ReadMode mode;
    std::function<void(std::error_code, ReadOutcome)> done;
    TimerHandle deadline, retry;
    Index read_index = 0;  ///< 0 until the leader answered
  };
  struct Proposal {
    Term term = 0;
    uint64_t req_id = 0;
    Address origin;  ///< null = a local Submit
  };
  struct ReadWaiter {
    uint64_t req_id = 0;
    Address origin;  ///< null = a local Read
  };
  struct Round {  // leader: one confirmation round for a batch of ReadIndex requests
    uint64_t id = 0;
    Term term = 0;
    Index read_index = 0;
    Duration started{0};
    std::set<std::string> acks;
    std::vector<ReadWaiter> waiters;
  };

  RaftStatus status();
  const std::string& my_id();
  // Commands
  void submit(ClientSubmit s);
  void attempt(uint64_t id);
  void retry_later(uint64_t id);
  void finish_submit(uint64_t id, std::error_code ec, Buffer result, Index index);
  void handle_forward(const cohort::Message& msg, const ClientHeader& h);
  void handle_forward_reply(const ClientHeader& h, const Buffer& result);
  void handle_applied(const Applied& a);
  // Reads
  void read(ClientRead r);
  void attempt_read(uint64_t id);
  void finish_read(uint64_t id, std::error_code ec);
  void maybe_serve_reads();
  void leader_read(ReadWaiter w, ReadMode mode);
  void start_round();
  void complete_round();
  void answer_read_index(const ReadWaiter& w, Index read_index, const std::string& error);
  void handle_ping(const cohort::Message& msg, const ClientHeader& h);
  void handle_pong(const ClientHeader& h);

  void send(const Address& to, std::shared_ptr<ClientHeader> h, Buffer payload = {});
  Address address_of(const std::string& raft_id);

  Duration timeout_{5s};
  Duration retry_interval_{50ms};
  Duration resend_interval_{1s};
  Duration lease_duration_{100ms};
  std::string bind_addr_ = "127.0.0.1";
  int port_ = 0;
  std::unique_ptr<ClientServer> server_;

  std::string my_id_;
  std::string leader_;
  Term term_ = 0;
  uint64_t next_id_ = 1;
  std::map<uint64_t, Submit> submits_;
  std::map<uint64_t, Read> reads_;
  std::map<Index, Proposal> proposals_;
  std::vector<std::pair<ReadWaiter, ReadMode>> queued_reads_;  // leader: waiting for a round
  std::optional<Round> round_;
  uint64_t next_round_ = 1;
  Duration lease_until_{0};
  Term lease_term_ = 0;
  TimerHandle round_timer_;

  uint64_t& submitted_;
  uint64_t& forwarded_;
  uint64_t& retries_;
  uint64_t& timeouts_;
  uint64_t& reads_served_;
  uint64_t& rounds_;
  uint64_t& remote_requests_;
  uint64_t& remote_malformed_;
};

}  // namespace cohort::raft
