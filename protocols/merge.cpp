#include "protocols/merge.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <stdexcept>

#include "stack/protocol_ids.hpp"

namespace cohort {

void MergeHeader::encode(codec::Writer& w) const {
  w.u8(type);
  switch (type) {
    case info:
      view_id.creator.encode(w);
      w.varint(view_id.id);
      coord.encode(w);
      break;
    case merge_req:
      w.varint(merge_id);
      break;
    case merge_rsp:
      w.varint(merge_id);
      view.encode(w);
      break;
  }
}

HeaderPtr MergeHeader::decode(codec::Reader& r) {
  uint8_t t = r.u8();
  if (t < info || t > merge_rsp) return r.fail("unknown MERGE header type"), nullptr;
  auto h = std::make_shared<MergeHeader>(static_cast<Type>(t));
  switch (h->type) {
    case info:
      h->view_id.creator = Address::decode(r);
      h->view_id.id = r.varint();
      h->coord = Address::decode(r);
      break;
    case merge_req:
      h->merge_id = r.varint();
      break;
    case merge_rsp:
      h->merge_id = r.varint();
      h->view = View::decode(r);
      if (r.ok() && h->view.empty()) r.fail("empty view");
      break;
  }
  if (!r.ok()) return nullptr;
  return h;
}

std::string MergeHeader::to_string() const {
  static const char* names[] = {"?", "info", "merge_req", "merge_rsp"};
  return fmt::format("MERGE {}", names[type]);
}

Merge::Merge()
    : Protocol("MERGE"),
      infos_sent_(counter("infos_sent", "INFO messages multicast")),
      merges_led_(counter("merges_led", "merges led (install_merge_view sent up)")),
      merge_reqs_answered_(counter("merge_reqs_answered", "MERGE_REQs answered")),
      merge_timeouts_(counter("merge_timeouts", "merges that ended by merge_timeout")) {
  register_header<MergeHeader>(protocol_id::merge, "MERGE");
  declare("min_interval", min_interval_, "shortest time between two INFO rounds");
  declare("max_interval", max_interval_, "longest time between two INFO rounds");
  declare("merge_timeout", merge_timeout_, "how long the leader waits for MERGE_REQ answers");
}

void Merge::init() {
  if (min_interval_ <= Duration::zero())
    throw std::invalid_argument("min_interval: must be positive");
  if (max_interval_ < min_interval_)
    throw std::invalid_argument("max_interval: must not be below min_interval");
  if (merge_timeout_ <= Duration::zero())
    throw std::invalid_argument("merge_timeout: must be positive");
}

void Merge::start() {
  running_ = true;
  round_timer_ = runtime().schedule(runtime().random_between(min_interval_, max_interval_),
                                    [this] { round(); });
}

void Merge::stop() {
  running_ = false;
  round_timer_.cancel();
  merge_timer_.cancel();
  awaiting_.clear();
  responses_.clear();
  foreign_.clear();
}

std::any Merge::down(Event& ev) {
  if (ev.type == event::set_local_address) local_ = ev.get<Address>();
  if (ev.type == event::view_change) view_ = ev.get<View>();
  return Protocol::down(ev);
}

void Merge::send(const Address& dest, std::shared_ptr<MergeHeader> h) {
  Message m(dest);
  m.set(Message::INTERNAL).set(Message::NO_RELIABILITY).set(Message::OOB);
  m.put_header(protocol_id::merge, std::move(h));
  Protocol::down(m);
}

void Merge::round() {
  if (!running_) return;
  if (!view_.empty()) {
    maybe_lead();
    auto h = std::make_shared<MergeHeader>(MergeHeader::info);
    h->view_id = view_.id();
    h->coord = view_.coordinator();
    ++infos_sent_;
    send(Address(), std::move(h));
  }
  round_timer_ = runtime().schedule(runtime().random_between(min_interval_, max_interval_),
                                    [this] { round(); });
}

void Merge::maybe_lead() {
  auto heard = std::move(foreign_);
  foreign_.clear();
  if (heard.empty() || !awaiting_.empty() || view_.coordinator() != local_) return;
  std::set<Address> targets;
  for (auto& [m, f] : heard) {
    if (f.coord == m) {
      if (m < local_) return;  // a lower coordinator leads
      targets.insert(m);
    } else if (heard.count(f.coord) && !view_.contains(f.coord)) {
      targets.insert(f.coord);  // its coordinator speaks for it
    } else {
      targets.insert(m);  // excluded from a view, or its coordinator is unheard
    }
  }
  if (targets.empty()) return;
  merge_id_ = runtime().rng()();
  awaiting_ = targets;
  responses_.clear();
  for (auto& t : targets) {
    auto h = std::make_shared<MergeHeader>(MergeHeader::merge_req);
    h->merge_id = merge_id_;
    send(t, std::move(h));
  }
  merge_timer_ = runtime().schedule(merge_timeout_, [this] {
    ++merge_timeouts_;
    finish_merge();
  });
}

void Merge::finish_merge() {
  merge_timer_.cancel();
  awaiting_.clear();
  auto responses = std::move(responses_);
  responses_.clear();
  if (responses.empty() || view_.empty() || view_.coordinator() != local_) return;
  std::vector<Address> members = view_.members();
  uint64_t id = view_.id().id;
  std::sort(responses.begin(), responses.end(),
            [](const View& a, const View& b) { return a.coordinator() < b.coordinator(); });
  for (auto& v : responses) {
    id = std::max(id, v.id().id);
    for (auto& m : v.members())
      if (std::find(members.begin(), members.end(), m) == members.end()) members.push_back(m);
  }
  ++merges_led_;
  Event ev(event::install_merge_view, View(ViewId{local_, id}, members));
  Protocol::up(ev);
}

void Merge::handle(const Message& msg, const MergeHeader& h) {
  if (!running_ || msg.src() == local_) return;
  switch (h.type) {
    case MergeHeader::info:
      // Foreign: outside our view, or in it but following another coordinator (we were
      // excluded from its view, or it from ours, and both views live on).
      if (!view_.empty() && view_.coordinator() == local_ && !(h.view_id == view_.id()) &&
          (!view_.contains(msg.src()) || h.coord != local_))
        foreign_[msg.src()] = Foreign{h.coord, h.view_id};
      return;
    case MergeHeader::merge_req: {
      if (view_.empty()) return;
      auto rsp = std::make_shared<MergeHeader>(MergeHeader::merge_rsp);
      rsp->merge_id = h.merge_id;
      rsp->view = view_.coordinator() == local_ ? view_ : View(view_.id(), {local_});
      ++merge_reqs_answered_;
      return send(msg.src(), std::move(rsp));
    }
    case MergeHeader::merge_rsp:
      if (h.merge_id != merge_id_ || !awaiting_.erase(msg.src())) return;
      responses_.push_back(h.view);
      if (awaiting_.empty()) finish_merge();
      return;
  }
}

void Merge::up(Message& msg) {
  auto* h = msg.header<MergeHeader>(protocol_id::merge);
  if (!h) return Protocol::up(msg);
  handle(msg, *h);
}

void Merge::up(MessageBatch& batch) {
  std::erase_if(batch.messages, [&](const Message& m) {
    auto* h = m.header<MergeHeader>(protocol_id::merge);
    if (h) handle(m, *h);
    return h != nullptr;
  });
  if (!batch.empty()) Protocol::up(batch);
}

}  // namespace cohort
