#pragma once
// CounterService: named int64 counters replicated through Raft (JGroups' CounterService with
// consensus). Commands and results: counter_codec.hpp. Through the log every operation is
// linearizable, and with a client session each add/increment is applied exactly once however
// often it is retried. query() answers get from this member's state.
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "blocks/counter_codec.hpp"
#include "blocks/state_machine.hpp"

namespace cohort {

class CounterService : public StateMachine {
 public:
  /// This member's value of a counter (0 if never set); stale unless made fresh by the caller.
  int64_t value(std::string_view name) const;
  const std::map<std::string, int64_t, std::less<>>& counters() const { return counters_; }

  Buffer apply(const ApplyContext& ctx, const Buffer& command) override;
  Buffer query(const Buffer& query) const override;
  /// u8 version, varint count, then (str name, svarint value) in name order.
  Buffer snapshot() const override;
  void restore(const Buffer& snapshot) override;

 private:
  std::map<std::string, int64_t, std::less<>> counters_;
};

}  // namespace cohort
