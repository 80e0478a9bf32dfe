#include "protocols/nakack.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "stack/protocol_ids.hpp"
#include "stack/view.hpp"

namespace cohort {

namespace {
constexpr uint64_t max_wire_entries = 100000;  // ranges or digest entries in one header
}

void NakackHeader::encode(codec::Writer& w) const {
  w.u8(type);
  switch (type) {
    case msg:
      w.varint(seqno);
      w.varint(low);
      break;
    case xmit_req:
      w.varint(ranges.size());
      for (auto& [a, b] : ranges) {
        w.varint(a);
        w.varint(b - a);
      }
      break;
    case stable:
      w.varint(low);
      w.varint(digest.size());
      for (auto& [a, s] : digest) {
        a.encode(w);
        w.varint(s);
      }
      break;
  }
}

HeaderPtr NakackHeader::decode(codec::Reader& r) {
  uint8_t t = r.u8();
  if (t < msg || t > stable) return r.fail("unknown NAKACK header type"), nullptr;
  auto h = std::make_shared<NakackHeader>(static_cast<Type>(t));
  if (t == msg) {
    h->seqno = r.varint();
    h->low = r.varint();
  } else if (t == xmit_req) {
    uint64_t n =
        r.varint_max(std::min<uint64_t>(max_wire_entries, r.remaining()), "too many ranges");
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      uint64_t a = r.varint(), len = r.varint();
      if (a + len < a) return r.fail("range overflow"), nullptr;
      h->ranges.emplace_back(a, a + len);
    }
  } else {
    h->low = r.varint();
    uint64_t n =
        r.varint_max(std::min<uint64_t>(max_wire_entries, r.remaining()), "digest too long");
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      Address a = Address::decode(r);
      h->digest.emplace_back(std::move(a), r.varint());
    }
  }
  if (!r.ok()) return nullptr;
  return h;
}

std::string NakackHeader::to_string() const {
  switch (type) {
    case msg:
      return fmt::format("NAKACK msg seqno={} low={}", seqno, low);
    case xmit_req:
      return fmt::format("NAKACK xmit_req ranges={}", ranges.size());
    case stable:
      return fmt::format("NAKACK stable entries={}", digest.size());
  }
  return "NAKACK";
}

Nakack::Nakack()
    : Protocol("NAKACK"),
      msgs_sent_(counter("msgs_sent", "reliable multicasts sent")),
      msgs_delivered_(counter("msgs_delivered", "multicasts delivered up (own included)")),
      oob_delivered_(counter("oob_delivered", "OOB multicasts delivered on arrival")),
      duplicates_(counter("duplicates", "multicasts received more than once, dropped")),
      xmit_reqs_sent_(counter("xmit_reqs_sent", "negative acks (XMIT_REQ) sent")),
      xmit_reqs_received_(counter("xmit_reqs_received", "negative acks received")),
      xmits_sent_(counter("xmits_sent", "messages retransmitted")),
      xmits_unavailable_(
          counter("xmits_unavailable", "retransmissions asked for messages already purged")),
      recv_window_full_(counter("recv_window_full",
                                "messages dropped: beyond max_recv_window (retransmitted later)")),
      missing_skipped_(counter("missing_skipped",
                               "seqnos skipped because the sender purged them (not in its view)")),
      stable_sent_(counter("stable_sent", "STABLE digests multicast")),
      purged_(counter("purged", "messages purged from the retransmit buffer once stable")) {
  register_header<NakackHeader>(protocol_id::nakack, "NAKACK");
  declare("xmit_interval", xmit_interval_, "how often gaps are asked for (negative acks)");
  declare("stable_interval", stable_interval_, "how often the STABLE digest is multicast");
  declare("max_recv_window", max_recv_window_,
          "seqnos buffered ahead of the next expected one per sender (messages)");
  declare("max_xmit_req", max_xmit_req_, "seqnos asked for in one XMIT_REQ (messages)");
}

void Nakack::init() {
  if (xmit_interval_ <= Duration::zero())
    throw std::invalid_argument("xmit_interval: must be positive");
  if (stable_interval_ <= Duration::zero())
    throw std::invalid_argument("stable_interval: must be positive");
  if (max_recv_window_ == 0) throw std::invalid_argument("max_recv_window: must be at least 1");
  if (max_xmit_req_ == 0) throw std::invalid_argument("max_xmit_req: must be at least 1");
}

void Nakack::start() {
  running_ = true;
  xmit_timer_ = runtime().schedule(xmit_interval_, [this] { send_xmit_reqs(); });
  stable_timer_ = runtime().schedule(stable_interval_, [this] { send_stable(); });
}

void Nakack::stop() {
  running_ = false;
  xmit_timer_.cancel();
  stable_timer_.cancel();
  sent_.clear();
  windows_.clear();
  digests_.clear();
}

uint64_t Nakack::delivered(const Address& sender) const {
  if (sender == local_) return seqno_;
  auto it = windows_.find(sender);
  return it == windows_.end() ? 0 : it->second.next_expected - 1;
}

std::any Nakack::down(Event& ev) {
  if (ev.type == event::set_local_address) local_ = ev.get<Address>();
  if (ev.type == event::view_change) view_changed(ev.arg);
  return Protocol::down(ev);
}

std::any Nakack::up(Event& ev) {
  if (ev.type == event::view_change) view_changed(ev.arg);
  return Protocol::up(ev);
}

void Nakack::view_changed(const std::any& arg) {
  const View& v = std::any_cast<const View&>(arg);
  view_ = v.members();
  // Forget senders that left: if they come back (a merge) their `low` resynchronises us.
  std::erase_if(windows_, [&](auto& kv) { return !v.contains(kv.first); });
  std::erase_if(digests_, [&](auto& kv) { return !v.contains(kv.first); });
}

void Nakack::down(Message& msg) {
  if (!msg.is_group() || msg.has(Message::NO_RELIABILITY)) return Protocol::down(msg);
  uint64_t seqno = ++seqno_;
  ++msgs_sent_;
  sent_.emplace(seqno, msg);
  Message copy = msg;
  auto h = std::make_shared<NakackHeader>(NakackHeader::msg);
  h->seqno = seqno;
  h->low = low();
  copy.put_header(protocol_id::nakack, std::move(h));
  // Self-delivery by a posted call, in seqno order (the transport's loopback copy is ignored).
  Message self = msg;
  self.src(local_);
  runtime().post([this, self]() mutable {
    if (!running_) return;
    ++msgs_delivered_;
    up_protocol()->up(self);
  });
  down_protocol()->down(copy);
}

void Nakack::up(Message& msg) {
  auto* h = msg.header<NakackHeader>(protocol_id::nakack);
  if (!h) return Protocol::up(msg);
  handle(msg, *h);
}

void Nakack::up(MessageBatch& batch) {
  std::vector<Message> rest;
  for (auto& m : batch.messages) {
    auto* h = m.header<NakackHeader>(protocol_id::nakack);
    if (!h) {
      rest.push_back(std::move(m));
      continue;
    }
    handle(m, *h);
  }
  if (rest.empty()) return;
  batch.messages = std::move(rest);
  Protocol::up(batch);
}

void Nakack::handle(Message& msg, const NakackHeader& h) {
  if (!running_ || msg.src() == local_) return;
  switch (h.type) {
    case NakackHeader::msg:
      return handle_msg(msg, h);
    case NakackHeader::xmit_req:
      return handle_xmit_req(msg.src(), h);
    case NakackHeader::stable:
      return handle_stable(msg.src(), h);
  }
}

void Nakack::handle_msg(Message& msg, const NakackHeader& h) {
  const Address sender = msg.src();
  auto [it, fresh] = windows_.try_emplace(sender);
  Window& w = it->second;
  if (fresh) w.next_expected = std::max<uint64_t>(h.low, 1);
  if (h.low > w.next_expected) {
    missing_skipped_ += h.low - w.next_expected;
    w.buffered.erase(w.buffered.begin(), w.buffered.lower_bound(h.low));
    w.next_expected = h.low;
  }
  w.highest_seen = std::max(w.highest_seen, h.seqno);
  if (h.seqno < w.next_expected || w.buffered.count(h.seqno)) return void(++duplicates_);
  if (h.seqno >= w.next_expected + max_recv_window_) return void(++recv_window_full_);
  const uint64_t seqno = h.seqno;  // `h` lives in msg's header: gone after remove_header
  msg.remove_header(protocol_id::nakack);
  // A retransmission travels as a NO_RELIABILITY unicast (so UNICAST leaves it alone); reliable
  // messages never carry that flag otherwise, so clear it and restore the group destination.
  if (!msg.is_group()) {
    msg.clear(Message::NO_RELIABILITY);
    msg.dest(Address());
  }
  Slot slot{std::move(msg), false};
  if (slot.msg.has(Message::OOB)) {
    slot.delivered = true;
    ++oob_delivered_;
    ++msgs_delivered_;
    Message m = slot.msg;
    w.buffered.emplace(seqno, Slot{Message(), true});
    up_protocol()->up(m);
    if (!running_) return;
    auto again = windows_.find(sender);
    if (again == windows_.end()) return;
    return deliver_in_order(sender, again->second);
  }
  w.buffered.emplace(seqno, std::move(slot));
  deliver_in_order(sender, w);
}

void Nakack::deliver_in_order(const Address& sender, Window& w) {
  while (!w.buffered.empty() && w.buffered.begin()->first == w.next_expected) {
    Slot s = std::move(w.buffered.begin()->second);
    w.buffered.erase(w.buffered.begin());
    ++w.next_expected;
    if (s.delivered) continue;
    ++msgs_delivered_;
    up_protocol()->up(s.msg);
    // A handler may have changed the view (and erased this window): look it up again.
    if (!running_) return;
    auto it = windows_.find(sender);
    if (it == windows_.end() || &it->second != &w) return;
  }
}

void Nakack::handle_xmit_req(const Address& src, const NakackHeader& h) {
  ++xmit_reqs_received_;
  uint64_t budget = max_xmit_req_;
  for (auto& [first, last] : h.ranges) {
    for (uint64_t s = first; s <= last && budget > 0; ++s, --budget) {
      auto it = sent_.find(s);
      if (it == sent_.end()) {
        ++xmits_unavailable_;
        continue;
      }
      Message copy = it->second;
      copy.dest(src).set(Message::NO_RELIABILITY);
      auto hdr = std::make_shared<NakackHeader>(NakackHeader::msg);
      hdr->seqno = s;
      hdr->low = low();
      copy.put_header(protocol_id::nakack, std::move(hdr));
      ++xmits_sent_;
      down_protocol()->down(copy);
      if (!running_) return;
    }
  }
}

void Nakack::handle_stable(const Address& src, const NakackHeader& h) {
  auto& d = digests_[src];
  d.clear();
  for (auto& [a, s] : h.digest) {
    d[a] = s;
    // The sender's own entry is its highest seqno sent: reveals a lost last message, even when
    // it was the first one we would have had from this member (no window yet).
    if (a == src && s > 0) {
      auto it = windows_.find(src);
      if (it == windows_.end() && std::find(view_.begin(), view_.end(), src) != view_.end()) {
        it = windows_.try_emplace(src).first;
        it->second.next_expected = std::max<uint64_t>(h.low, 1);
      }
      if (it != windows_.end()) it->second.highest_seen = std::max(it->second.highest_seen, s);
    }
  }
  purge();
}

void Nakack::purge() {
  if (view_.empty() || sent_.empty()) return;
  uint64_t stable = seqno_;
  for (auto& m : view_) {
    if (m == local_) continue;
    auto it = digests_.find(m);
    if (it == digests_.end()) return;
    auto e = it->second.find(local_);
    stable = std::min(stable, e == it->second.end() ? 0 : e->second);
  }
  auto end = sent_.upper_bound(stable);
  purged_ += static_cast<uint64_t>(std::distance(sent_.begin(), end));
  sent_.erase(sent_.begin(), end);
}

void Nakack::send_xmit_reqs() {
  for (auto& [sender, w] : windows_) {
    if (w.highest_seen < w.next_expected) continue;
    auto h = std::make_shared<NakackHeader>(NakackHeader::xmit_req);
    uint64_t budget = max_xmit_req_;
    uint64_t s = w.next_expected;
    auto it = w.buffered.begin();
    while (s <= w.highest_seen && budget > 0) {
      while (it != w.buffered.end() && it->first < s)
        ++it;
      if (it != w.buffered.end() && it->first == s) {
        ++s;
        continue;
      }
      uint64_t gap_end = it == w.buffered.end() ? w.highest_seen : it->first - 1;
      gap_end = std::min(gap_end, s + budget - 1);
      h->ranges.emplace_back(s, gap_end);
      budget -= gap_end - s + 1;
      s = gap_end + 1;
    }
    if (h->ranges.empty()) continue;
    Message req(sender);
    req.set(Message::INTERNAL).set(Message::NO_RELIABILITY).set(Message::OOB);
    req.put_header(protocol_id::nakack, std::move(h));
    ++xmit_reqs_sent_;
    down_protocol()->down(req);
    if (!running_) return;
  }
  xmit_timer_ = runtime().schedule(xmit_interval_, [this] { send_xmit_reqs(); });
}

void Nakack::send_stable() {
  auto h = std::make_shared<NakackHeader>(NakackHeader::stable);
  h->low = low();
  h->digest.emplace_back(local_, seqno_);
  for (auto& [sender, w] : windows_)
    h->digest.emplace_back(sender, w.next_expected - 1);
  Message m{Address()};
  m.set(Message::INTERNAL).set(Message::NO_RELIABILITY).set(Message::OOB);
  m.put_header(protocol_id::nakack, std::move(h));
  ++stable_sent_;
  down_protocol()->down(m);
  purge();
  stable_timer_ = runtime().schedule(stable_interval_, [this] { send_stable(); });
}

}  // namespace cohort
