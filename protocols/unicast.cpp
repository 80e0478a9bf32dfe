#include "protocols/unicast.hpp"

#include <fmt/format.h>

#include <stdexcept>

#include "stack/protocol_ids.hpp"
#include "stack/view.hpp"

namespace cohort {

void UnicastHeader::encode(codec::Writer& w) const {
  w.u8(type);
  w.varint(conn_id);
  w.varint(seqno);
  if (type == data) w.varint(low);
}

HeaderPtr UnicastHeader::decode(codec::Reader& r) {
  uint8_t t = r.u8();
  if (t != data && t != ack) return r.fail("unknown UNICAST header type"), nullptr;
  uint64_t conn = r.varint(), seq = r.varint(), lo = t == data ? r.varint() : 0;
  if (!r.ok()) return nullptr;
  return std::make_shared<UnicastHeader>(static_cast<Type>(t), conn, seq, lo);
}

std::string UnicastHeader::to_string() const {
  return type == data ? fmt::format("UNICAST data conn={} seqno={} low={}", conn_id, seqno, low)
                      : fmt::format("UNICAST ack conn={} seqno={}", conn_id, seqno);
}

Unicast::Unicast()
    : Protocol("UNICAST"),
      msgs_sent_(counter("msgs_sent", "reliable unicasts sent (first transmissions)")),
      msgs_delivered_(counter("msgs_delivered", "reliable unicasts delivered up, in order")),
      xmits_(counter("xmits", "retransmissions")),
      acks_sent_(counter("acks_sent", "acks sent")),
      acks_received_(counter("acks_received", "acks received")),
      duplicates_(counter("duplicates", "data messages received more than once, dropped")),
      send_window_full_(counter("send_window_full",
                                "messages queued because max_send_window unacked were in flight")),
      send_queue_full_(counter("send_queue_full", "messages dropped: max_send_queue reached")),
      recv_window_full_(counter("recv_window_full",
                                "messages dropped: beyond max_recv_window (retransmitted later)")),
      stale_conn_(counter("stale_conn", "messages of an older connection of a peer, dropped")),
      conns_reset_(counter("conns_reset", "receive connections replaced by a newer one")),
      conns_expired_(counter("conns_expired", "connections closed after conn_expiry_timeout")),
      bad_headers_(counter("bad_headers", "messages with an unknown header type, dropped")) {
  register_header<UnicastHeader>(protocol_id::unicast, "UNICAST");
  declare("xmit_interval", xmit_interval_, "how often unacked messages are retransmitted");
  declare("conn_expiry_timeout", conn_expiry_timeout_,
          "connections to non-members silent this long are closed");
  declare("max_send_window", max_send_window_, "unacked messages in flight per peer (messages)");
  declare("max_send_queue", max_send_queue_,
          "messages waiting for room in the send window per peer (messages); more are dropped");
  declare("max_recv_window", max_recv_window_,
          "seqnos buffered ahead of the next expected one per peer (messages)");
}

void Unicast::init() {
  if (xmit_interval_ <= Duration::zero())
    throw std::invalid_argument("xmit_interval: must be positive");
  if (conn_expiry_timeout_ <= Duration::zero())
    throw std::invalid_argument("conn_expiry_timeout: must be positive");
  if (max_send_window_ == 0) throw std::invalid_argument("max_send_window: must be at least 1");
  if (max_recv_window_ == 0) throw std::invalid_argument("max_recv_window: must be at least 1");
}

void Unicast::start() {
  running_ = true;
  tick_timer_ = runtime().schedule(xmit_interval_, [this] { tick(); });
}

void Unicast::stop() {
  running_ = false;
  tick_timer_.cancel();
  send_.clear();
  recv_.clear();
}

size_t Unicast::unacked() const {
  size_t n = 0;
  for (auto& [a, e] : send_)
    n += e.unacked.size() + e.queued.size();
  return n;
}

std::any Unicast::down(Event& ev) {
  if (ev.type == event::set_local_address) local_ = ev.get<Address>();
  if (ev.type == event::view_change) view_changed(ev.arg);
  return Protocol::down(ev);
}

std::any Unicast::up(Event& ev) {
  if (ev.type == event::view_change) view_changed(ev.arg);
  return Protocol::up(ev);
}

void Unicast::view_changed(const std::any& arg) {
  const View& v = std::any_cast<const View&>(arg);
  view_members_ = std::set<Address>(v.members().begin(), v.members().end());
}

void Unicast::down(Message& msg) {
  if (msg.is_group() || msg.has(Message::NO_RELIABILITY)) return Protocol::down(msg);
  if (msg.dest() == local_) {
    // Loopback: delivered by a posted call (never re-entrantly from down()), reliably, in order.
    Message copy = msg;
    copy.src(local_);
    runtime().post([this, copy]() mutable {
      if (running_) up_protocol()->up(copy);
    });
    return;
  }
  auto [it, fresh] = send_.try_emplace(msg.dest());
  SendEntry& e = it->second;
  if (fresh) e.conn_id = ++conn_counter_;
  e.last_active = runtime().now();
  if (e.unacked.size() >= max_send_window_) {
    ++send_window_full_;
    if (e.queued.size() >= max_send_queue_) return void(++send_queue_full_);
    e.queued.push_back(msg);
    return;
  }
  transmit(msg.dest(), e, msg);
}

void Unicast::transmit(const Address& dest, SendEntry& e, Message msg) {
  uint64_t seqno = e.next_seqno++;
  ++msgs_sent_;
  auto [it, ok] = e.unacked.emplace(seqno, std::move(msg));
  send_data(dest, e, seqno, it->second);
}

void Unicast::send_data(const Address& dest, const SendEntry& e, uint64_t seqno,
                        const Message& msg) {
  Message copy = msg;
  copy.dest(dest);
  copy.put_header(protocol_id::unicast,
                  std::make_shared<UnicastHeader>(UnicastHeader::data, e.conn_id, seqno,
                                                  e.unacked.begin()->first));
  down_protocol()->down(copy);
}

void Unicast::up(Message& msg) {
  auto* h = msg.header<UnicastHeader>(protocol_id::unicast);
  if (!h) return Protocol::up(msg);
  if (handle(msg, *h)) send_ack(msg.src());
}

void Unicast::up(MessageBatch& batch) {
  std::set<Address> ack_to;
  std::vector<Message> rest;
  for (auto& m : batch.messages) {
    auto* h = m.header<UnicastHeader>(protocol_id::unicast);
    if (!h) {
      rest.push_back(std::move(m));
      continue;
    }
    Address src = m.src();
    if (handle(m, *h)) ack_to.insert(src);
  }
  for (auto& a : ack_to)
    send_ack(a);
  if (rest.empty()) return;
  batch.messages = std::move(rest);
  Protocol::up(batch);
}

bool Unicast::handle(Message& msg, const UnicastHeader& h) {
  if (!running_) return false;
  switch (h.type) {
    case UnicastHeader::data:
      return handle_data(msg, h);
    case UnicastHeader::ack:
      handle_ack(msg.src(), h);
      return false;
  }
  ++bad_headers_;
  return false;
}

bool Unicast::handle_data(Message& msg, const UnicastHeader& h) {
  const Address src = msg.src();
  auto [it, fresh] = recv_.try_emplace(src);
  RecvEntry& e = it->second;
  if (!fresh && h.conn_id < e.conn_id) {
    ++stale_conn_;
    return false;
  }
  if (fresh || h.conn_id > e.conn_id) {
    if (!fresh) ++conns_reset_;
    e = RecvEntry{};
    e.conn_id = h.conn_id;
    e.next_expected = std::max<uint64_t>(h.low, 1);
  }
  e.last_active = runtime().now();
  if (h.low > e.next_expected) {
    // Everything below `low` was acked by us already: never wait for it again.
    e.buffered.erase(e.buffered.begin(), e.buffered.lower_bound(h.low));
    e.next_expected = h.low;
  }
  if (h.seqno < e.next_expected) {
    ++duplicates_;
    return true;  // re-ack: our earlier ack may have been lost
  }
  if (h.seqno >= e.next_expected + max_recv_window_) {
    ++recv_window_full_;
    return true;
  }
  const uint64_t seqno = h.seqno;  // `h` lives in msg's header: gone after remove_header
  msg.remove_header(protocol_id::unicast);
  if (!e.buffered.emplace(seqno, std::move(msg)).second) ++duplicates_;
  // Deliver in order. Each message is taken out before it goes up, so a handler that sends
  // (which touches send_ only) cannot disturb this loop; recv_ entries are only erased by tick().
  while (!e.buffered.empty() && e.buffered.begin()->first == e.next_expected) {
    Message m = std::move(e.buffered.begin()->second);
    e.buffered.erase(e.buffered.begin());
    ++e.next_expected;
    ++msgs_delivered_;
    up_protocol()->up(m);
    if (!running_) return false;
  }
  return true;
}

void Unicast::handle_ack(const Address& src, const UnicastHeader& h) {
  ++acks_received_;
  auto it = send_.find(src);
  if (it == send_.end() || it->second.conn_id != h.conn_id) return;
  SendEntry& e = it->second;
  e.last_active = runtime().now();
  e.unacked.erase(e.unacked.begin(), e.unacked.upper_bound(h.seqno));
  while (!e.queued.empty() && e.unacked.size() < max_send_window_) {
    Message m = std::move(e.queued.front());
    e.queued.pop_front();
    transmit(src, e, std::move(m));
  }
}

void Unicast::send_ack(const Address& peer) {
  auto it = recv_.find(peer);
  if (it == recv_.end()) return;
  Message ack(peer);
  ack.set(Message::INTERNAL).set(Message::OOB);
  ack.put_header(protocol_id::unicast,
                 std::make_shared<UnicastHeader>(UnicastHeader::ack, it->second.conn_id,
                                                 it->second.next_expected - 1));
  ++acks_sent_;
  down_protocol()->down(ack);
}

void Unicast::tick() {
  Duration now = runtime().now();
  for (auto it = send_.begin(); it != send_.end();) {
    SendEntry& e = it->second;
    if (!view_members_.count(it->first) && now - e.last_active > conn_expiry_timeout_) {
      ++conns_expired_;
      it = send_.erase(it);
      continue;
    }
    for (auto& [seqno, m] : e.unacked) {
      ++xmits_;
      send_data(it->first, e, seqno, m);
    }
    ++it;
  }
  for (auto it = recv_.begin(); it != recv_.end();) {
    if (!view_members_.count(it->first) && now - it->second.last_active > conn_expiry_timeout_) {
      ++conns_expired_;
      it = recv_.erase(it);
    } else {
      ++it;
    }
  }
  tick_timer_ = runtime().schedule(xmit_interval_, [this] { tick(); });
}

}  // namespace cohort
