#pragma once
// VERIFY_SUSPECT: double-checks a suspicion before it goes up to GMS (JGroups' VERIFY_SUSPECT).
// On an event::suspect from below it sends `num_msgs` ARE_YOU_DEAD pings (best effort, directly)
// to the suspect; an I_AM_NOT_DEAD reply within `timeout` cancels the suspicion (an
// event::unsuspect goes up), otherwise the suspect event is passed up. One verification per
// member at a time; an event::unsuspect from below cancels it.
//
// Loop affinity: everything runs on the channel's loop.
#include <map>

#include "stack/header.hpp"
#include "stack/protocol.hpp"

namespace cohort {

class VerifySuspectHeader : public Header {
 public:
  enum Type : uint8_t { are_you_dead = 1, i_am_not_dead = 2 };
  explicit VerifySuspectHeader(Type t) : type(t) {}
  Type type;
  void encode(codec::Writer& w) const override { w.u8(type); }
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override;
};

class VerifySuspect : public Protocol {
 public:
  VerifySuspect();
  void init() override;
  void stop() override;
  std::any up(Event& ev) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;
  std::any down(Event& ev) override;

 private:
  void handle(const Message& msg, const VerifySuspectHeader& h);
  void verify(const Address& a);
  void timed_out(const Address& a);

  Duration timeout_ = 2s;
  int num_msgs_ = 2;

  Address local_;
  std::map<Address, TimerHandle> verifying_;

  uint64_t& verifications_;
  uint64_t& suspects_confirmed_;
  uint64_t& suspects_refuted_;
};

}  // namespace cohort
