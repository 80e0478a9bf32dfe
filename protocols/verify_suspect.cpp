#include "protocols/verify_suspect.hpp"

#include <stdexcept>

#include "stack/protocol_ids.hpp"

namespace cohort {

HeaderPtr VerifySuspectHeader::decode(codec::Reader& r) {
  uint8_t t = r.u8();
  if (!r.ok() || (t != are_you_dead && t != i_am_not_dead))
    return r.fail("bad VERIFY_SUSPECT header"), nullptr;
  return std::make_shared<VerifySuspectHeader>(static_cast<Type>(t));
}

std::string VerifySuspectHeader::to_string() const {
  return type == are_you_dead ? "VERIFY_SUSPECT are_you_dead" : "VERIFY_SUSPECT i_am_not_dead";
}

VerifySuspect::VerifySuspect()
    : Protocol("VERIFY_SUSPECT"),
      verifications_(counter("verifications", "suspicions verified (pings sent)")),
      suspects_confirmed_(counter("suspects_confirmed", "suspicions passed up (no reply)")),
      suspects_refuted_(counter("suspects_refuted", "suspicions dropped (the member replied)")) {
  register_header<VerifySuspectHeader>(protocol_id::verify_suspect, "VERIFY_SUSPECT");
  declare("timeout", timeout_, "how long to wait for a reply before the suspicion goes up");
  declare("num_msgs", num_msgs_, "ARE_YOU_DEAD pings sent per verification");
}

void VerifySuspect::init() {
  if (timeout_ <= Duration::zero()) throw std::invalid_argument("timeout: must be positive");
  if (num_msgs_ < 1) throw std::invalid_argument("num_msgs: must be at least 1");
}

void VerifySuspect::stop() {
  for (auto& [a, t] : verifying_)
    t.cancel();
  verifying_.clear();
}

std::any VerifySuspect::down(Event& ev) {
  if (ev.type == event::set_local_address) local_ = ev.get<Address>();
  return Protocol::down(ev);
}

std::any VerifySuspect::up(Event& ev) {
  if (ev.type == event::suspect) {
    verify(ev.get<Address>());
    return {};
  }
  if (ev.type == event::unsuspect) {
    auto it = verifying_.find(ev.get<Address>());
    if (it != verifying_.end()) {
      it->second.cancel();
      verifying_.erase(it);
    }
  }
  return Protocol::up(ev);
}

void VerifySuspect::verify(const Address& a) {
  if (verifying_.count(a)) return;
  ++verifications_;
  for (int i = 0; i < num_msgs_; ++i) {
    Message ping(a);
    ping.set(Message::INTERNAL).set(Message::NO_RELIABILITY).set(Message::OOB);
    ping.put_header(protocol_id::verify_suspect,
                    std::make_shared<VerifySuspectHeader>(VerifySuspectHeader::are_you_dead));
    Protocol::down(ping);
  }
  verifying_[a] = runtime().schedule(timeout_, [this, a] { timed_out(a); });
}

void VerifySuspect::timed_out(const Address& a) {
  if (verifying_.erase(a) == 0) return;
  ++suspects_confirmed_;
  Event ev(event::suspect, a);
  Protocol::up(ev);
}

void VerifySuspect::handle(const Message& msg, const VerifySuspectHeader& h) {
  if (h.type == VerifySuspectHeader::are_you_dead) {
    Message reply(msg.src());
    reply.set(Message::INTERNAL).set(Message::NO_RELIABILITY).set(Message::OOB);
    reply.put_header(protocol_id::verify_suspect,
                     std::make_shared<VerifySuspectHeader>(VerifySuspectHeader::i_am_not_dead));
    return Protocol::down(reply);
  }
  auto it = verifying_.find(msg.src());
  if (it == verifying_.end()) return;
  it->second.cancel();
  verifying_.erase(it);
  ++suspects_refuted_;
  Event ev(event::unsuspect, msg.src());
  Protocol::up(ev);
}

void VerifySuspect::up(Message& msg) {
  auto* h = msg.header<VerifySuspectHeader>(protocol_id::verify_suspect);
  if (!h) return Protocol::up(msg);
  handle(msg, *h);
}

void VerifySuspect::up(MessageBatch& batch) {
  std::erase_if(batch.messages, [&](const Message& m) {
    auto* h = m.header<VerifySuspectHeader>(protocol_id::verify_suspect);
    if (h) handle(m, *h);
    return h != nullptr;
  });
  if (!batch.empty()) Protocol::up(batch);
}

}  // namespace cohort
