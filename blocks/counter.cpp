#include "blocks/counter.hpp"

#include "blocks/block_errors.hpp"

namespace cohort {

namespace {

// The error of a decoded reply, or of the transport.
template <class T>
std::error_code reply_error(std::error_code ec, const BlockReply<T>& r) {
  if (ec) return ec;
  return r.ok() ? std::error_code() : make_error_code(r.status);
}

}  // namespace

Counter::Counter(BlockClient& client, std::string name, std::string service, Duration timeout)
    : client_(client), name_(std::move(name)), service_(std::move(service)), timeout_(timeout) {}

void Counter::get(raft::ReadMode mode, ValueHandler done) {
  client_.read(
      service_, counter_codec::get(name_), mode,
      [done = std::move(done)](std::error_code ec, raft::ReadOutcome out) {
        auto r = ec ? BlockReply<int64_t>{} : counter_codec::decode_value(out.result);
        done(reply_error(ec, r), r.value);
      },
      timeout_);
}

void Counter::set(int64_t value, DoneHandler done) {
  client_.submit(
      service_, counter_codec::set(name_, value),
      [done = std::move(done)](std::error_code ec, Buffer result) {
        auto r = ec ? BlockReply<bool>{} : counter_codec::decode_empty(result);
        done(reply_error(ec, r));
      },
      timeout_);
}

void Counter::add_and_get(int64_t delta, ValueHandler done) {
  submit_value(counter_codec::add_and_get(name_, delta), std::move(done));
}

void Counter::increment_and_get(ValueHandler done) {
  submit_value(counter_codec::increment_and_get(name_), std::move(done));
}

void Counter::decrement_and_get(ValueHandler done) {
  submit_value(counter_codec::decrement_and_get(name_), std::move(done));
}

void Counter::compare_and_set(int64_t expected, int64_t new_value, CasHandler done) {
  client_.submit(
      service_, counter_codec::compare_and_set(name_, expected, new_value),
      [done = std::move(done)](std::error_code ec, Buffer result) {
        auto r = ec ? BlockReply<CasOutcome>{} : counter_codec::decode_cas(result);
        done(reply_error(ec, r), r.value);
      },
      timeout_);
}

void Counter::submit_value(Buffer command, ValueHandler done) {
  client_.submit(
      service_, std::move(command),
      [done = std::move(done)](std::error_code ec, Buffer result) {
        auto r = ec ? BlockReply<int64_t>{} : counter_codec::decode_value(result);
        done(reply_error(ec, r), r.value);
      },
      timeout_);
}

}  // namespace cohort
