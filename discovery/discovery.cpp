#include "discovery/discovery.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace cohort {

namespace {
constexpr size_t max_infos_per_message = 1024;  // a bound on what one payload may claim
constexpr size_t max_physical_length = 256;
}  // namespace

void MemberInfo::encode(codec::Writer& w) const {
  address.encode(w);
  w.str(physical);
  w.varint(join_rank);
}

MemberInfo MemberInfo::decode(codec::Reader& r) {
  MemberInfo m;
  m.address = Address::decode(r);
  auto p = r.bytes_view();
  if (p.size() > max_physical_length) r.fail("physical address too long");
  m.physical.assign(reinterpret_cast<const char*>(p.data()), p.size());
  m.join_rank = r.varint();
  return m;
}

HeaderPtr DiscoveryHeader::decode(codec::Reader& r) {
  uint8_t t = r.u8();
  if (!r.ok()) return nullptr;
  if (t < request || t > leave) return r.fail("unknown discovery message type"), nullptr;
  return std::make_shared<DiscoveryHeader>(static_cast<Type>(t));
}

std::string DiscoveryHeader::to_string() const {
  switch (type) {
    case request:
      return "request";
    case response:
      return "response";
    case leave:
      return "leave";
  }
  return "?";
}

Discovery::Discovery(const char* name, uint16_t header_id)
    : Protocol(name),
      id_(header_id),
      requests_sent_(counter("requests_sent", "discovery requests sent")),
      requests_received_(counter("requests_received", "discovery requests received")),
      responses_received_(counter("responses_received", "discovery responses received")),
      members_expired_(counter("members_expired", "members dropped after member_timeout")),
      bad_messages_(counter("bad_messages", "discovery messages with a malformed payload")),
      views_installed_(counter("views_installed", "views installed (views=true)")) {
  register_header<DiscoveryHeader>(header_id, name);
  declare("interval", interval_, "how often to look for members and refresh known ones");
  declare("member_timeout", member_timeout_, "drop a member not heard from directly for this long");
  declare("join_timeout", join_timeout_,
          "after connecting, wait this long for answers before fixing our join rank");
  declare("views", views_, "install views from the members found (off when GMS is used)");
}

Discovery::~Discovery() = default;

void Discovery::init() {
  if (interval_ <= Duration::zero()) throw std::invalid_argument("interval: must be positive");
  if (member_timeout_ <= interval_)
    throw std::invalid_argument("member_timeout: must be longer than interval");
  if (join_timeout_ < Duration::zero())
    throw std::invalid_argument("join_timeout: must not be negative");
}

void Discovery::stop() {
  tick_timer_.cancel();
  join_timer_.cancel();
  connected_ = false;
}

std::vector<Address> Discovery::members() const {
  struct Entry {
    uint64_t rank;
    Address address;
  };
  std::vector<Entry> all;
  auto rank_key = [](uint64_t r) { return r == 0 ? std::numeric_limits<uint64_t>::max() : r; };
  if (connected_) all.push_back({rank_key(join_rank_), local_});
  for (auto& [a, m] : members_)
    all.push_back({rank_key(m.join_rank), a});
  std::sort(all.begin(), all.end(), [](const Entry& x, const Entry& y) {
    return x.rank != y.rank ? x.rank < y.rank : x.address < y.address;
  });
  std::vector<Address> out;
  for (auto& e : all)
    out.push_back(e.address);
  return out;
}

MemberInfo Discovery::self_info() const {
  return MemberInfo{local_, local_physical_, join_rank_};
}

std::any Discovery::down(Event& ev) {
  switch (ev.type) {
    case event::set_local_address:
      local_ = ev.get<Address>();
      return down_protocol()->down(ev);
    case event::connect: {
      cluster_ = ev.get<std::string>();
      auto r = down_protocol()->down(ev);
      handle_connect();
      return r;
    }
    case event::disconnect:
      handle_disconnect();
      return down_protocol()->down(ev);
    case event::find_members:
      return members();
    default:
      return down_protocol()->down(ev);
  }
}

void Discovery::handle_connect() {
  Event get(event::get_physical_address, local_);
  auto r = down_protocol()->down(get);
  if (auto* s = std::any_cast<std::string>(&r)) local_physical_ = *s;
  connected_ = true;
  join_rank_ = 0;
  on_connect();
  tick();
  join_timer_ = runtime().schedule(join_timeout_, [this] { fix_join_rank(); });
}

void Discovery::handle_disconnect() {
  if (!connected_) return;
  on_disconnect();
  for (auto& [a, m] : members_) {
    Message msg = make_message(DiscoveryHeader::leave, false);
    msg.dest(a);
    down_protocol()->down(msg);
  }
  tick_timer_.cancel();
  join_timer_.cancel();
  connected_ = false;
  members_.clear();
}

void Discovery::fix_join_rank() {
  if (!connected_ || join_rank_ != 0) return;
  uint64_t highest = 0;
  for (auto& [a, m] : members_)
    highest = std::max(highest, m.join_rank);
  join_rank_ = highest + 1;
  membership_changed();
}

void Discovery::tick() {
  if (!connected_) return;
  Duration now = runtime().now();
  for (auto it = members_.begin(); it != members_.end();) {
    if (now - it->second.last_heard > member_timeout_) {
      ++members_expired_;
      Address gone = it->first;
      it = members_.erase(it);
      Event rm(event::remove_physical_address, gone);
      down_protocol()->down(rm);
    } else {
      ++it;
    }
  }
  membership_changed();
  asked_.clear();
  find_candidates();
  // Known members are asked directly too, which refreshes them and tells them about us.
  std::vector<std::string> known;
  for (auto& [a, m] : members_)
    known.push_back(m.physical);
  for (auto& p : known)
    send_request(p);
  tick_timer_ = runtime().schedule(interval_, [this] { tick(); });
}

Message Discovery::make_message(DiscoveryHeader::Type type, bool with_known) const {
  codec::Writer w(64);
  size_t n = 1 + (with_known ? std::min(members_.size(), max_infos_per_message - 1) : 0);
  w.varint(n);
  self_info().encode(w);
  if (with_known) {
    size_t i = 1;
    for (auto& [a, m] : members_) {
      if (i++ >= n) break;
      MemberInfo{a, m.physical, m.join_rank}.encode(w);
    }
  }
  Message msg(Address(), w.take_buffer());
  msg.src(local_).set(Message::INTERNAL).set(Message::OOB);
  msg.put_header(id_, std::make_shared<DiscoveryHeader>(type));
  return msg;
}

void Discovery::send_request(const std::string& physical) {
  if (!connected_ || physical.empty() || physical == local_physical_) return;
  if (!asked_.insert(physical).second) return;  // asked already in this round
  ++requests_sent_;
  Event ev(event::send_to_physical, std::pair<std::string, Message>(
                                        physical, make_message(DiscoveryHeader::request, false)));
  down_protocol()->down(ev);
}

void Discovery::send_request_to_group() {
  if (!connected_) return;
  ++requests_sent_;
  Message msg = make_message(DiscoveryHeader::request, false);
  down_protocol()->down(msg);
}

void Discovery::up(Message& msg) {
  if (auto* h = msg.header<DiscoveryHeader>(id_)) {
    handle(msg, *h);
    return;
  }
  up_protocol()->up(msg);
}

void Discovery::up(MessageBatch& batch) {
  auto& ms = batch.messages;
  bool any = false;
  for (auto& m : ms)
    if (m.has_header(id_)) any = true;
  if (any) {
    std::vector<Message> rest;
    rest.reserve(ms.size());
    for (auto& m : ms) {
      if (auto* h = m.header<DiscoveryHeader>(id_))
        handle(m, *h);
      else
        rest.push_back(std::move(m));
    }
    ms = std::move(rest);
  }
  if (!ms.empty()) up_protocol()->up(batch);
}

void Discovery::handle(Message& msg, const DiscoveryHeader& h) {
  if (!connected_ || msg.src() == local_) return;
  codec::Reader r(msg.payload());
  size_t n = r.varint_max(max_infos_per_message, "too many member infos");
  std::vector<MemberInfo> infos;
  for (size_t i = 0; i < n && r.ok(); ++i)
    infos.push_back(MemberInfo::decode(r));
  if (!r.ok() || !r.at_end() || infos.empty() || infos.front().address != msg.src() ||
      infos.front().physical.empty()) {
    ++bad_messages_;
    return;
  }
  switch (h.type) {
    case DiscoveryHeader::request: {
      ++requests_received_;
      heard(infos.front());
      Message reply = make_message(DiscoveryHeader::response, true);
      reply.dest(msg.src());
      down_protocol()->down(reply);
      break;
    }
    case DiscoveryHeader::response:
      ++responses_received_;
      heard(infos.front());
      // Gossip: ask members we have not heard of directly; they count once they answer.
      for (size_t i = 1; i < infos.size(); ++i) {
        const MemberInfo& m = infos[i];
        if (m.address != local_ && !members_.contains(m.address)) send_request(m.physical);
      }
      break;
    case DiscoveryHeader::leave:
      forget(msg.src());
      break;
  }
  membership_changed();
}

void Discovery::heard(const MemberInfo& info) {
  if (info.address == local_) return;
  auto [it, added] = members_.try_emplace(info.address);
  Member& m = it->second;
  if (added || m.physical != info.physical) {
    m.physical = info.physical;
    Event ev(event::add_physical_address,
             std::pair<Address, std::string>(info.address, m.physical));
    down_protocol()->down(ev);
  }
  m.join_rank = info.join_rank;
  m.last_heard = runtime().now();
}

void Discovery::forget(const Address& a) {
  if (members_.erase(a) == 0) return;
  Event rm(event::remove_physical_address, a);
  down_protocol()->down(rm);
}

void Discovery::membership_changed() {
  if (!connected_) return;
  std::vector<Address> found = members();
  if (found != last_found_) {
    last_found_ = found;
    Event ev(event::members_found, found);
    up_protocol()->up(ev);
  }
  if (!views_ || join_rank_ == 0) return;
  // The view: members whose join rank is fixed (members() already sorts them first).
  std::vector<Address> view_members;
  for (auto& a : found) {
    if (a == local_) {
      view_members.push_back(a);
      continue;
    }
    auto it = members_.find(a);
    if (it != members_.end() && it->second.join_rank != 0) view_members.push_back(a);
  }
  if (view_counter_ > 0 && view_members == current_view_members_) return;
  current_view_members_ = view_members;
  ++views_installed_;
  View v(ViewId{view_members.front(), ++view_counter_}, view_members);
  Event up_ev(event::view_change, v);
  up_protocol()->up(up_ev);
  Event down_ev(event::view_change, v);
  down_protocol()->down(down_ev);
}

}  // namespace cohort
