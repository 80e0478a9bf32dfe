#include "protocols/gms.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "stack/protocol_ids.hpp"

namespace cohort {

void GmsHeader::encode(codec::Writer& w) const {
  w.u8(type);
  switch (type) {
    case join_wait:
      coord.encode(w);
      break;
    case view:
      w.u8(merge ? 1 : 0);
      new_view.encode(w);
      break;
    case view_ack:
    case view_reject:
      view_id.creator.encode(w);
      w.varint(view_id.id);
      break;
    case join_reject:
      w.str(reason);
      break;
    case join_req:
    case leave_req:
      break;
  }
}

HeaderPtr GmsHeader::decode(codec::Reader& r) {
  uint8_t t = r.u8();
  if (t < join_req || t > join_reject) return r.fail("unknown GMS header type"), nullptr;
  auto h = std::make_shared<GmsHeader>(static_cast<Type>(t));
  switch (h->type) {
    case join_wait:
      h->coord = Address::decode(r);
      break;
    case view:
      h->merge = r.u8() != 0;
      h->new_view = View::decode(r);
      if (r.ok() && h->new_view.empty()) r.fail("empty view");
      break;
    case view_ack:
    case view_reject:
      h->view_id.creator = Address::decode(r);
      h->view_id.id = r.varint();
      break;
    case join_reject:
      h->reason = r.str();
      break;
    case join_req:
    case leave_req:
      break;
  }
  if (!r.ok()) return nullptr;
  return h;
}

std::string GmsHeader::to_string() const {
  static const char* names[] = {"?",        "join_req",    "join_wait", "view",
                                "view_ack", "view_reject", "leave_req", "join_reject"};
  return fmt::format("GMS {}", names[type]);
}

Gms::Gms()
    : Protocol("GMS"),
      views_installed_(counter("views_installed", "views installed here")),
      merge_views_installed_(counter("merge_views_installed", "merge views installed here")),
      joins_handled_(counter("joins_handled", "members added (as coordinator)")),
      leaves_handled_(counter("leaves_handled", "members removed after LEAVE_REQ (coordinator)")),
      members_excluded_(counter("members_excluded", "suspected members excluded (coordinator)")),
      views_rejected_(counter("views_rejected", "views not installed: id not above ours")),
      ack_timeouts_(counter("ack_timeouts", "view installations that ended by view_ack_timeout")),
      singletons_(counter("singletons", "times this member became a singleton coordinator")),
      joins_refused_(counter("joins_refused", "joins of this member refused (JOIN_REJECT)")) {
  register_header<GmsHeader>(protocol_id::gms, "GMS");
  declare("join_timeout", join_timeout_, "how long one join attempt waits for a view");
  declare("max_join_attempts", max_join_attempts_,
          "join rounds without a view before becoming a singleton");
  declare("view_ack_timeout", view_ack_timeout_,
          "how long the coordinator waits for the acks of a view");
  declare("print_local_addr", print_local_addr_, "print the local address at connect (stdout)");
}

void Gms::init() {
  if (join_timeout_ <= Duration::zero())
    throw std::invalid_argument("join_timeout: must be positive");
  if (view_ack_timeout_ <= Duration::zero())
    throw std::invalid_argument("view_ack_timeout: must be positive");
  if (max_join_attempts_ < 1) throw std::invalid_argument("max_join_attempts: must be at least 1");
}

void Gms::stop() {
  join_timer_.cancel();
  ack_timer_.cancel();
  joined_ = joining_ = installing_ = false;
}

bool Gms::is_coordinator() const {
  return joined_ && acting_coordinator() == local_;
}

Address Gms::acting_coordinator() const {
  for (auto& m : view_.members())
    if (!suspects_.count(m)) return m;
  return local_;
}

std::any Gms::down(Event& ev) {
  switch (ev.type) {
    case event::set_local_address:
      local_ = ev.get<Address>();
      return Protocol::down(ev);
    case event::connect: {
      cluster_ = ev.get<std::string>();
      auto r = Protocol::down(ev);
      start_join();
      return r;
    }
    case event::disconnect:
      leave();
      return Protocol::down(ev);
    default:
      return Protocol::down(ev);
  }
}

std::any Gms::up(Event& ev) {
  switch (ev.type) {
    case event::view_change:
      return {};  // views from below are not ours to take
    case event::suspect: {
      const auto& a = ev.get<Address>();
      if (!joined_ || !view_.contains(a) || a == local_) return {};
      suspects_.insert(a);
      maybe_install();
      return {};
    }
    case event::unsuspect:
      suspects_.erase(ev.get<Address>());
      return {};
    case event::install_merge_view:
      if (is_coordinator()) {
        pending_merge_ = ev.get<View>();
        maybe_install();
      }
      return {};
    default:
      return Protocol::up(ev);
  }
}

void Gms::up(Message& msg) {
  auto* h = msg.header<GmsHeader>(protocol_id::gms);
  if (!h) return Protocol::up(msg);
  handle(msg, *h);
}

void Gms::up(MessageBatch& batch) {
  std::erase_if(batch.messages, [&](const Message& m) {
    auto* h = m.header<GmsHeader>(protocol_id::gms);
    if (h) handle(m, *h);
    return h != nullptr;
  });
  if (!batch.empty()) Protocol::up(batch);
}

void Gms::handle(const Message& msg, const GmsHeader& h) {
  if (!joined_ && !joining_) return;
  switch (h.type) {
    case GmsHeader::join_req:
      return handle_join_req(msg.src());
    case GmsHeader::join_wait:
      if (joining_) {
        known_coord_ = h.coord;
        saw_cluster_ = true;
      }
      return;
    case GmsHeader::view:
      return handle_view(msg.src(), h);
    case GmsHeader::view_ack:
      return handle_view_ack(msg.src(), h, false);
    case GmsHeader::view_reject:
      return handle_view_ack(msg.src(), h, true);
    case GmsHeader::leave_req:
      if (is_coordinator() && view_.contains(msg.src())) {
        pending_leaves_.insert(msg.src());
        maybe_install();
      }
      return;
    case GmsHeader::join_reject:
      return handle_join_reject(msg.src(), h.reason);
  }
}

void Gms::send(const Address& dest, std::shared_ptr<GmsHeader> h) {
  Message m(dest);
  m.set(Message::INTERNAL).set(Message::OOB);
  m.put_header(protocol_id::gms, std::move(h));
  down_protocol()->down(m);
}

void Gms::send_view(const Address& dest, const View& v, bool merge) {
  auto h = std::make_shared<GmsHeader>(GmsHeader::view);
  h->new_view = v;
  h->merge = merge;
  send(dest, std::move(h));
}

// --- Join ---------------------------------------------------------------------------------------

void Gms::start_join() {
  if (print_local_addr_) {
    Event get(event::get_physical_address, local_);
    auto r = Protocol::down(get);
    auto* phys = std::any_cast<std::string>(&r);
    std::fputs(fmt::format("GMS: address={} cluster={} physical={}\n", local_.to_string(), cluster_,
                           phys && !phys->empty() ? *phys : "-")
                   .c_str(),
               stdout);
    std::fflush(stdout);
  }
  joining_ = true;
  joined_ = false;
  join_attempts_ = 0;
  rounds_asked_ = 0;
  saw_cluster_ = false;
  known_coord_ = Address();
  join_round();
}

void Gms::join_round() {
  if (!joining_) return;
  ++join_attempts_;
  Event find(event::find_members);
  auto r = Protocol::down(find);
  std::vector<Address> found;
  if (auto* v = std::any_cast<std::vector<Address>>(&r))
    for (auto& a : *v)
      if (a != local_) found.push_back(a);
  bool waited = join_attempts_ >= 2;  // discovery had one join_timeout to find members
  bool lowest = std::all_of(found.begin(), found.end(), [&](auto& a) { return local_ < a; });
  // The tie-break needs one round of asking first: a member that is lowest but has not asked yet
  // may be facing an existing cluster (its coordinator answers with a view, others JOIN_WAIT).
  if (waited && (found.empty() || (lowest && !saw_cluster_ && rounds_asked_ > 0) ||
                 join_attempts_ > max_join_attempts_))
    return become_singleton();
  if (!found.empty()) ++rounds_asked_;
  if (known_coord_) {
    send(known_coord_, std::make_shared<GmsHeader>(GmsHeader::join_req));
    known_coord_ = Address();
  } else {
    for (auto& a : found)
      send(a, std::make_shared<GmsHeader>(GmsHeader::join_req));
  }
  join_timer_ = runtime().schedule(join_timeout_, [this] { join_round(); });
}

void Gms::become_singleton() {
  ++singletons_;
  install(View(ViewId{local_, max_view_id_ + 1}, {local_}), false);
}

void Gms::handle_join_req(const Address& joiner) {
  if (!joined_) return;  // still joining ourselves: the joiner's tie-break decides
  if (!is_coordinator()) {
    auto h = std::make_shared<GmsHeader>(GmsHeader::join_wait);
    h->coord = acting_coordinator();
    return send(joiner, std::move(h));
  }
  if (view_.contains(joiner)) {
    // It missed its view (or asks again before it arrived): send the current one again.
    if (!installing_) send_view(joiner, view_, false);
    return;
  }
  if (std::find(pending_joins_.begin(), pending_joins_.end(), joiner) == pending_joins_.end())
    pending_joins_.push_back(joiner);
  maybe_install();
}

void Gms::handle_join_reject(const Address& src, const std::string& reason) {
  if (!joining_) return;  // joined already (or gave up): a late refusal changes nothing
  joining_ = false;
  join_timer_.cancel();
  ++joins_refused_;
  Event ev(event::join_failed,
           fmt::format("join refused by {}: {}", src.to_string(),
                       reason.empty() ? std::string("no reason given") : reason));
  Protocol::up(ev);
}

// --- Leave --------------------------------------------------------------------------------------

void Gms::leave() {
  join_timer_.cancel();
  ack_timer_.cancel();
  if (joined_ && view_.size() > 1) {
    if (is_coordinator()) {
      std::vector<Address> rest;
      for (auto& m : view_.members())
        if (m != local_ && !suspects_.count(m)) rest.push_back(m);
      if (!rest.empty()) {
        View v(ViewId{local_, max_view_id_ + 1}, rest);
        for (auto& m : rest)
          send_view(m, v, false);
      }
    } else {
      send(acting_coordinator(), std::make_shared<GmsHeader>(GmsHeader::leave_req));
    }
  }
  joined_ = joining_ = installing_ = false;
}

// --- View installation (coordinator) ------------------------------------------------------------

void Gms::maybe_install() {
  if (installing_ || !is_coordinator()) return;
  std::vector<Address> members;
  bool merge = false;
  uint64_t id = max_view_id_ + 1;
  if (pending_merge_) {
    merge = true;
    id = std::max(id, pending_merge_->id().id + 1);
    for (auto& m : pending_merge_->members())
      if (!suspects_.count(m) && !pending_leaves_.count(m)) members.push_back(m);
    // The merge leader stays first (it coordinates the merged view).
    std::erase(members, local_);
    members.insert(members.begin(), local_);
    pending_merge_.reset();
  } else {
    for (auto& m : view_.members()) {
      if (suspects_.count(m)) {
        ++members_excluded_;
        continue;
      }
      if (pending_leaves_.count(m)) {
        ++leaves_handled_;
        continue;
      }
      members.push_back(m);
    }
    for (auto& j : pending_joins_)
      if (std::find(members.begin(), members.end(), j) == members.end()) {
        members.push_back(j);
        ++joins_handled_;
      }
    if (members == view_.members() && !force_install_) {
      pending_joins_.clear();
      pending_leaves_.clear();
      return;
    }
  }
  pending_joins_.clear();
  pending_leaves_.clear();
  force_install_ = false;
  View v(ViewId{local_, id}, members);
  installing_ = true;
  installing_id_ = v.id();
  acks_waiting_.clear();
  std::erase_if(merge_unconfirmed_, [&](const Address& m) { return !v.contains(m); });
  for (auto& m : members)
    if (m != local_) {
      acks_waiting_.insert(m);
      if (merge) merge_unconfirmed_.insert(m);
      send_view(m, v, merge_unconfirmed_.count(m) > 0);
    }
  install(v, merge);
  if (acks_waiting_.empty()) return finish_install();
  ack_timer_ = runtime().schedule(view_ack_timeout_, [this] {
    ++ack_timeouts_;
    finish_install();
  });
}

void Gms::handle_view_ack(const Address& src, const GmsHeader& h, bool rejected) {
  if (rejected) {
    // The member already has a view with this id or a higher one: install again above it.
    max_view_id_ = std::max(max_view_id_, h.view_id.id);
    force_install_ = true;
  } else if (!(h.view_id == installing_id_)) {
    return;
  } else {
    merge_unconfirmed_.erase(src);  // it installed this view (a merge view if it was in the set)
  }
  if (!installing_) {
    if (rejected) maybe_install();
    return;
  }
  acks_waiting_.erase(src);
  if (acks_waiting_.empty()) finish_install();
}

void Gms::finish_install() {
  ack_timer_.cancel();
  installing_ = false;
  maybe_install();
}

// --- View installation (every member) -----------------------------------------------------------

void Gms::handle_view(const Address& src, const GmsHeader& h) {
  const View& v = h.new_view;
  if (!v.contains(local_)) return;
  auto reply = [&](GmsHeader::Type t, const ViewId& id) {
    auto r = std::make_shared<GmsHeader>(t);
    r->view_id = id;
    send(src, std::move(r));
  };
  if (joined_ && v.id() == view_.id()) return reply(GmsHeader::view_ack, v.id());
  if (joined_ && v.id().id <= view_.id().id) {
    ++views_rejected_;
    return reply(GmsHeader::view_reject, view_.id());
  }
  install(v, h.merge);
  reply(GmsHeader::view_ack, v.id());
}

void Gms::install(const View& v, bool merge) {
  bool was_coord = is_coordinator();
  view_ = v;
  max_view_id_ = std::max(max_view_id_, v.id().id);
  joined_ = true;
  joining_ = false;
  join_timer_.cancel();
  std::erase_if(suspects_, [&](const Address& a) { return !v.contains(a); });
  ++views_installed_;
  if (merge) {
    ++merge_views_installed_;
    Event mev(event::merge_view, v);
    Protocol::up(mev);
  }
  Event down_ev(event::view_change, v);
  Protocol::down(down_ev);
  Event up_ev(event::view_change, v);
  Protocol::up(up_ev);
  if (was_coord && !is_coordinator()) {
    // Somebody else coordinates now (a merge, or we were excluded and re-merged).
    pending_joins_.clear();
    pending_leaves_.clear();
    pending_merge_.reset();
    merge_unconfirmed_.clear();
    if (installing_) {
      installing_ = false;
      ack_timer_.cancel();
    }
  }
  // Suspicions that arrived while the view was on its way may make us coordinator.
  if (!installing_ && is_coordinator() && !suspects_.empty())
    runtime().post([this] { maybe_install(); });
}

}  // namespace cohort
