#include "protocols/raft/client_protocol.hpp"

#include <algorithm>
#include <stdexcept>

#include "protocols/raft/state_machine.hpp"

#include "protocols/raft/client_errors.hpp"
#include "protocols/raft/client_header.hpp"
#include "protocols/raft/client_server.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/protocol_ids.hpp"

namespace cohort::raft {

ClientProtocol::ClientProtocol()
    : Protocol("CLIENT"),
      submitted_(counter("submitted", "commands submitted on this member")),
      forwarded_(counter("forwarded", "commands this member proposed for another member")),
      retries_(counter("retries", "command and read attempts repeated (leader change, loss)")),
      timeouts_(counter("timeouts", "requests that failed with timeout or no_leader")),
      reads_served_(counter("reads", "reads answered")),
      rounds_(counter("read_rounds", "ReadIndex confirmation rounds led")),
      remote_requests_(counter("remote_requests", "requests from remote clients")),
      remote_malformed_(counter("remote_malformed", "malformed remote client frames (dropped)")) {
  declare("timeout", timeout_, "default deadline of a command or read");
  declare("retry_interval", retry_interval_, "wait before retrying when no leader is known");
  declare("resend_interval", resend_interval_, "resend a forwarded request unanswered this long");
  declare("lease_duration", lease_duration_,
          "lease reads skip confirmation this long after a round; keep well below "
          "election_min_interval (unsafe under process pauses)");
  declare("bind_addr", bind_addr_, "address of the remote client port");
  declare("port", port_, "remote client port (0 = no remote clients; -1 = any free port)");
  register_header<ClientHeader>(protocol_id::client, "CLIENT");
}

ClientProtocol::~ClientProtocol() = default;

void ClientProtocol::init() {
  if (port_ < -1 || port_ > 65535) throw std::invalid_argument("port: must be -1..65535");
}

uint16_t ClientProtocol::client_port() const {
  return server_ ? server_->port() : 0;
}

void ClientProtocol::start() {
  if (port_ == 0) return;
  auto* rt = dynamic_cast<AsioRuntime*>(&runtime());
  if (!rt) throw std::invalid_argument("port: remote clients need the production runtime");
  server_ = std::make_unique<ClientServer>(
      rt->io_context(), bind_addr_, static_cast<uint16_t>(port_ < 0 ? 0 : port_),
      [this](wire::Request req, ClientServer::Reply reply, uint64_t connection) {
        ++remote_requests_;
        wire::Response resp;
        resp.req_id = req.req_id;
        Duration timeout = std::chrono::milliseconds(req.timeout_ms);
        switch (req.kind) {
          case wire::RequestKind::submit:
            return submit(
                ClientSubmit{req.payload, timeout,
                             [reply, resp](std::error_code ec, Buffer result, Index index) mutable {
                               resp.error = static_cast<uint8_t>(ec.value());
                               resp.index = index;
                               resp.payload = std::move(result);
                               reply(std::move(resp));
                             }});
          case wire::RequestKind::read:
            return read(ClientRead{req.payload, req.mode, timeout,
                                   [reply, resp](std::error_code ec, ReadOutcome out) mutable {
                                     resp.error = static_cast<uint8_t>(ec.value());
                                     resp.index = out.applied_index;
                                     resp.commit_lag = out.commit_lag;
                                     resp.last_contact_ms = out.last_contact_ms;
                                     resp.payload = std::move(out.result);
                                     reply(std::move(resp));
                                   }});
          case wire::RequestKind::status: {
            RaftStatus st = status();
            resp.leader = st.leader;
            resp.payload = wire::encode_status(st);
            return reply(std::move(resp));
          }
          case wire::RequestKind::subscribe: {
            codec::Reader r(req.payload);
            uint64_t session = r.varint();
            if (!r.ok())
              resp.error = static_cast<uint8_t>(ClientErrc::rejected);
            else
              server_->subscribe(connection, session);
            return reply(std::move(resp));
          }
        }
      },
      remote_malformed_);
}

void ClientProtocol::stop() {
  for (auto& [id, s] : submits_)
    s.deadline.cancel(), s.retry.cancel();
  for (auto& [id, r] : reads_)
    r.deadline.cancel(), r.retry.cancel();
  auto submits = std::move(submits_);
  auto reads = std::move(reads_);
  for (auto& [id, s] : submits)
    s.done(ClientErrc::not_started, {}, 0);
  for (auto& [id, r] : reads)
    r.done(ClientErrc::not_started, {});
  round_timer_.cancel();
  round_.reset();
  server_.reset();
}

RaftStatus ClientProtocol::status() {
  Event ev(raft_event::status);
  auto r = down_protocol()->down(ev);
  return r.has_value() ? std::any_cast<RaftStatus>(r) : RaftStatus{};
}

const std::string& ClientProtocol::my_id() {
  if (my_id_.empty()) my_id_ = status().raft_id;
  return my_id_;
}

Address ClientProtocol::address_of(const std::string& raft_id) {
  Event ev(raft_event::address_of, raft_id);
  auto r = down_protocol()->down(ev);
  return r.has_value() ? std::any_cast<Address>(r) : Address();
}

void ClientProtocol::send(const Address& to, std::shared_ptr<ClientHeader> h, Buffer payload) {
  cohort::Message m(to, std::move(payload));
  m.put_header(protocol_id::client, std::move(h));
  down_protocol()->down(m);
}

// ---- commands ----------------------------------------------------------------------------

void ClientProtocol::submit(ClientSubmit s) {
  ++submitted_;
  uint64_t id = next_id_++;
  Duration timeout = s.timeout.count() > 0 ? s.timeout : timeout_;
  Submit& sub = submits_[id];
  sub.command = std::move(s.command);
  sub.done = std::move(s.done);
  sub.deadline = runtime().schedule(timeout, [this, id] {
    ++timeouts_;
    finish_submit(id, leader_.empty() ? ClientErrc::no_leader : ClientErrc::timeout, {}, 0);
  });
  attempt(id);
}

void ClientProtocol::finish_submit(uint64_t id, std::error_code ec, Buffer result, Index index) {
  auto it = submits_.find(id);
  if (it == submits_.end()) return;
  Submit s = std::move(it->second);
  submits_.erase(it);
  s.deadline.cancel();
  s.retry.cancel();
  s.done(ec, std::move(result), index);
}

void ClientProtocol::retry_later(uint64_t id) {
  auto it = submits_.find(id);
  if (it == submits_.end()) return;
  it->second.retry.cancel();
  it->second.retry = runtime().schedule(retry_interval_, [this, id] {
    ++retries_;
    attempt(id);
  });
}

void ClientProtocol::attempt(uint64_t id) {
  auto it = submits_.find(id);
  if (it == submits_.end()) return;
  Submit& s = it->second;
  RaftStatus st = status();
  if (!st.error.empty()) return finish_submit(id, ClientErrc::store_failed, {}, 0);
  if (st.raft_id.empty()) return finish_submit(id, ClientErrc::not_started, {}, 0);
  bool member = std::count(st.voters.begin(), st.voters.end(), st.raft_id) ||
                std::count(st.learners.begin(), st.learners.end(), st.raft_id);
  if (!member && !st.voters.empty()) return finish_submit(id, ClientErrc::not_member, {}, 0);
  leader_ = st.leader;
  term_ = st.term;
  if (leader_.empty()) return retry_later(id);  // no leader yet: wait for an election
  if (leader_ == st.raft_id) {
    Event ev(raft_event::propose, ProposeRequest{s.command});
    auto out = std::any_cast<ProposeOutcome>(down_protocol()->down(ev));
    if (out.ok()) {
      proposals_[out.index] = Proposal{out.term, id, Address()};
      return;
    }
    if (out.error == "store_failed") return finish_submit(id, ClientErrc::store_failed, {}, 0);
    return retry_later(id);  // not leader any more, transferring, leader not ready yet
  }
  Address leader = address_of(leader_);
  if (leader.is_null()) return retry_later(id);
  auto h = std::make_shared<ClientHeader>();
  h->type = ClientHeader::forward;
  h->req_id = id;
  send(leader, h, s.command);
  // Unanswered (lost message, crashed leader): resend; the session makes that safe.
  s.retry.cancel();
  s.retry = runtime().schedule(resend_interval_, [this, id] {
    ++retries_;
    attempt(id);
  });
}

void ClientProtocol::handle_forward(const cohort::Message& msg, const ClientHeader& h) {
  auto reply = std::make_shared<ClientHeader>();
  reply->type = ClientHeader::forward_reply;
  reply->req_id = h.req_id;
  Event ev(raft_event::propose, ProposeRequest{msg.payload()});
  auto out = std::any_cast<ProposeOutcome>(down_protocol()->down(ev));
  if (out.ok()) {
    ++forwarded_;
    proposals_[out.index] = Proposal{out.term, h.req_id, msg.src()};
    return;  // answered once applied
  }
  reply->error = out.error;
  reply->hint = out.leader_hint;
  send(msg.src(), reply);
}

void ClientProtocol::handle_forward_reply(const ClientHeader& h, const Buffer& result) {
  if (!submits_.count(h.req_id)) return;  // answered already, or timed out
  if (h.error.empty()) return finish_submit(h.req_id, {}, result, h.value);
  if (!h.hint.empty()) leader_ = h.hint;
  retry_later(h.req_id);
}

void ClientProtocol::handle_applied(const Applied& a) {
  auto it = proposals_.find(a.index);
  if (it != proposals_.end()) {
    Proposal p = std::move(it->second);
    proposals_.erase(it);
    bool ours = p.term == a.term;  // another term's entry at this index: ours was overwritten
    if (p.origin.is_null()) {
      if (ours)
        finish_submit(p.req_id, {}, a.result, a.index);
      else
        retry_later(p.req_id);
    } else {
      auto reply = std::make_shared<ClientHeader>();
      reply->type = ClientHeader::forward_reply;
      reply->req_id = p.req_id;
      reply->value = a.index;
      if (!ours) reply->error = "dropped";
      send(p.origin, reply, ours ? a.result : Buffer());
    }
  }
  // Proposals at or below this index that were never applied under their term are lost.
  while (!proposals_.empty() && proposals_.begin()->first < a.index) {
    Proposal p = std::move(proposals_.begin()->second);
    proposals_.erase(proposals_.begin());
    if (p.origin.is_null()) retry_later(p.req_id);
  }
  maybe_serve_reads();
}

// ---- reads -------------------------------------------------------------------------------

void ClientProtocol::read(ClientRead r) {
  if (r.mode == ReadMode::stale) {
    Event ev(raft_event::query, r.query);
    auto q = std::any_cast<QueryResult>(down_protocol()->down(ev));
    ++reads_served_;
    ReadOutcome out{q.result, q.applied_index,
                    q.commit_index > q.applied_index ? q.commit_index - q.applied_index : 0,
                    q.last_contact_ms};
    return r.done({}, std::move(out));
  }
  uint64_t id = next_id_++;
  Duration timeout = r.timeout.count() > 0 ? r.timeout : timeout_;
  Read& rd = reads_[id];
  rd.query = std::move(r.query);
  rd.mode = r.mode;
  rd.done = std::move(r.done);
  rd.deadline = runtime().schedule(timeout, [this, id] {
    ++timeouts_;
    finish_read(id, leader_.empty() ? ClientErrc::no_leader : ClientErrc::timeout);
  });
  attempt_read(id);
}

void ClientProtocol::finish_read(uint64_t id, std::error_code ec) {
  auto it = reads_.find(id);
  if (it == reads_.end()) return;
  Read r = std::move(it->second);
  reads_.erase(it);
  r.deadline.cancel();
  r.retry.cancel();
  if (ec) return r.done(ec, {});
  Event ev(raft_event::query, r.query);
  auto q = std::any_cast<QueryResult>(down_protocol()->down(ev));
  ++reads_served_;
  r.done({}, ReadOutcome{q.result, q.applied_index,
                         q.commit_index > q.applied_index ? q.commit_index - q.applied_index : 0});
}

void ClientProtocol::attempt_read(uint64_t id) {
  auto it = reads_.find(id);
  if (it == reads_.end()) return;
  Read& r = it->second;
  RaftStatus st = status();
  if (!st.error.empty()) return finish_read(id, ClientErrc::store_failed);
  leader_ = st.leader;
  auto again = [this, id](Duration after) {
    auto it2 = reads_.find(id);
    if (it2 == reads_.end()) return;
    it2->second.retry.cancel();
    it2->second.retry = runtime().schedule(after, [this, id] {
      ++retries_;
      attempt_read(id);
    });
  };
  if (leader_.empty()) return again(retry_interval_);
  if (leader_ == st.raft_id) return leader_read(ReadWaiter{id, Address()}, r.mode);
  Address leader = address_of(leader_);
  if (leader.is_null()) return again(retry_interval_);
  auto h = std::make_shared<ClientHeader>();
  h->type = ClientHeader::read_index;
  h->req_id = id;
  h->ok = r.mode == ReadMode::lease;
  send(leader, h);
  again(resend_interval_);
}

void ClientProtocol::maybe_serve_reads() {
  if (reads_.empty()) return;
  Index applied = status().applied_index;
  std::vector<uint64_t> ready;
  for (auto& [id, r] : reads_)
    if (r.read_index > 0 && applied >= r.read_index) ready.push_back(id);
  for (uint64_t id : ready)
    finish_read(id, {});
}

void ClientProtocol::answer_read_index(const ReadWaiter& w, Index read_index,
                                       const std::string& error) {
  if (w.origin.is_null()) {
    auto it = reads_.find(w.req_id);
    if (it == reads_.end()) return;
    if (!error.empty()) {
      it->second.retry.cancel();
      it->second.retry = runtime().schedule(retry_interval_, [this, id = w.req_id] {
        ++retries_;
        attempt_read(id);
      });
      return;
    }
    it->second.retry.cancel();
    it->second.read_index = std::max<Index>(read_index, 1);
    return maybe_serve_reads();
  }
  auto h = std::make_shared<ClientHeader>();
  h->type = ClientHeader::read_index_reply;
  h->req_id = w.req_id;
  h->value = read_index;
  h->error = error;
  send(w.origin, h);
}

void ClientProtocol::leader_read(ReadWaiter w, ReadMode mode) {
  RaftStatus st = status();
  if (st.role != Role::leader) return answer_read_index(w, 0, "not_leader");
  // §6.4 step 1: the leader's commit index is current only once it committed an entry of its
  // own term (the no-op appended at election).
  if (!st.commit_in_term) return answer_read_index(w, 0, "leader_not_ready");
  if (mode == ReadMode::lease && lease_term_ == st.term && runtime().now() < lease_until_)
    return answer_read_index(w, st.commit_index, "");
  queued_reads_.emplace_back(w, mode);
  if (!round_) start_round();
}

void ClientProtocol::start_round() {
  RaftStatus st = status();
  if (st.role != Role::leader) {
    auto waiting = std::move(queued_reads_);
    for (auto& [w, m] : waiting)
      answer_read_index(w, 0, "not_leader");
    return;
  }
  Round r;
  r.id = next_round_++;
  r.term = st.term;
  r.read_index = st.commit_index;  // §6.4 step 2: record the commit index as the read index
  r.started = runtime().now();
  r.acks.insert(st.raft_id);
  for (auto& [w, m] : queued_reads_)
    r.waiters.push_back(w);
  queued_reads_.clear();
  ++rounds_;
  round_ = std::move(r);
  size_t majority = st.voters.size() / 2 + 1;
  if (round_->acks.size() >= majority) return complete_round();
  // §6.4 step 3: confirm that no newer leader exists, with a round of pings to the voters.
  for (const auto& v : st.voters) {
    if (v == st.raft_id) continue;
    auto h = std::make_shared<ClientHeader>();
    h->type = ClientHeader::ping;
    h->value = round_->id;
    h->term = round_->term;
    h->hint = st.raft_id;
    send(address_of(v), h);
  }
  round_timer_.cancel();
  round_timer_ = runtime().schedule(resend_interval_, [this] {
    // Unconfirmed: give up on this round; the waiters retry (maybe with a new leader).
    if (!round_) return;
    auto waiters = std::move(round_->waiters);
    round_.reset();
    for (auto& w : waiters)
      answer_read_index(w, 0, "not_confirmed");
    if (!queued_reads_.empty()) start_round();
  });
}

void ClientProtocol::complete_round() {
  round_timer_.cancel();
  Round r = std::move(*round_);
  round_.reset();
  lease_term_ = r.term;
  lease_until_ = r.started + lease_duration_;
  for (auto& w : r.waiters)
    answer_read_index(w, r.read_index, "");
  if (!queued_reads_.empty()) start_round();
}

void ClientProtocol::handle_ping(const cohort::Message& msg, const ClientHeader& h) {
  RaftStatus st = status();
  auto reply = std::make_shared<ClientHeader>();
  reply->type = ClientHeader::pong;
  reply->value = h.value;
  reply->term = st.term;
  reply->hint = st.raft_id;
  reply->ok = st.term == h.term && st.leader == h.hint;
  send(msg.src(), reply);
}

void ClientProtocol::handle_pong(const ClientHeader& h) {
  if (!round_ || h.value != round_->id || !h.ok || h.term != round_->term) return;
  RaftStatus st = status();
  if (!std::count(st.voters.begin(), st.voters.end(), h.hint)) return;
  round_->acks.insert(h.hint);
  if (round_->acks.size() >= st.voters.size() / 2 + 1) complete_round();
}

// ---- stack plumbing ----------------------------------------------------------------------

void ClientProtocol::up(cohort::Message& msg) {
  const auto* h = msg.header<ClientHeader>(protocol_id::client);
  if (!h) return Protocol::up(msg);
  switch (h->type) {
    case ClientHeader::forward:
      return handle_forward(msg, *h);
    case ClientHeader::forward_reply:
      return handle_forward_reply(*h, msg.payload());
    case ClientHeader::read_index:
      return leader_read(ReadWaiter{h->req_id, msg.src()},
                         h->ok ? ReadMode::lease : ReadMode::linearizable);
    case ClientHeader::read_index_reply:
      return answer_read_index(ReadWaiter{h->req_id, Address()}, h->value, h->error);
    case ClientHeader::ping:
      return handle_ping(msg, *h);
    case ClientHeader::pong:
      return handle_pong(*h);
  }
}

void ClientProtocol::up(cohort::MessageBatch& batch) {
  bool mine = false;
  for (auto& m : batch.messages)
    mine |= m.has_header(protocol_id::client);
  if (mine) {
    std::erase_if(batch.messages, [this](cohort::Message& m) {
      if (!m.has_header(protocol_id::client)) return false;
      up(m);
      return true;
    });
  }
  if (!batch.empty()) Protocol::up(batch);
}

std::any ClientProtocol::up(Event& ev) {
  if (ev.type == raft_event::applied) handle_applied(ev.get<Applied>());
  if (ev.type == raft_event::notification && server_) {
    const auto& n = ev.get<Notification>();
    server_->notify(n.session_id, n.service, n.payload);
  }
  if (ev.type == event::leader_changed) {
    const auto& lc = ev.get<LeaderChanged>();
    bool changed = lc.leader != leader_;
    leader_ = lc.leader;
    term_ = lc.term;
    if (changed && !leader_.empty()) {
      // Requests parked for lack of a leader (or sent to the old one) go to the new one now.
      std::vector<uint64_t> ids;
      for (auto& [id, s] : submits_)
        ids.push_back(id);
      for (uint64_t id : ids) {
        bool proposed_here = false;
        for (auto& [i, p] : proposals_)
          proposed_here |= p.origin.is_null() && p.req_id == id;
        if (!proposed_here) attempt(id);
      }
      std::vector<uint64_t> rids;
      for (auto& [id, r] : reads_)
        if (r.read_index == 0) rids.push_back(id);
      for (uint64_t id : rids)
        attempt_read(id);
    }
  }
  return Protocol::up(ev);
}

std::any ClientProtocol::down(Event& ev) {
  switch (ev.type) {
    case raft_event::client_submit:
      submit(std::any_cast<ClientSubmit>(std::move(ev.arg)));
      return {};
    case raft_event::client_read:
      read(std::any_cast<ClientRead>(std::move(ev.arg)));
      return {};
    default:
      return Protocol::down(ev);
  }
}

}  // namespace cohort::raft
