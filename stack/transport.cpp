#include "stack/transport.hpp"

#include "stack/view.hpp"

namespace cohort {

Transport::Transport(std::string name)
    : Protocol(std::move(name)),
      msgs_sent_(counter("msgs_sent", "messages sent")),
      bytes_sent_(counter("bytes_sent", "payload bytes sent")),
      msgs_received_(counter("msgs_received", "messages received")),
      bytes_received_(counter("bytes_received", "payload bytes received")),
      batches_received_(counter("batches_received", "batches (frames, reads) received")),
      dropped_(counter("dropped", "messages dropped (queue full, unknown destination, closed)")),
      malformed_(counter("malformed", "frames that failed to decode, dropped")) {}

void Transport::down(Message& msg) {
  if (msg.src().is_null()) msg.src(local_);
  ++msgs_sent_;
  bytes_sent_ += msg.payload().size();
  if (msg.is_group())
    send_to_group(msg);
  else
    send_to_member(msg);
}

std::any Transport::down(Event& ev) {
  switch (ev.type) {
    case event::set_local_address:
      local_ = ev.get<Address>();
      return {};
    case event::local_address:
      return local_;
    case event::connect:
      cluster_ = ev.get<std::string>();
      connect();
      return {};
    case event::disconnect:
      disconnect();
      return {};
    default:
      return {};
  }
}

void Transport::deliver(MessageBatch& batch) {
  ++batches_received_;
  msgs_received_ += batch.size();
  for (auto& m : batch.messages)
    bytes_received_ += m.payload().size();
  up_protocol()->up(batch);
}

void Transport::deliver(Message& msg) {
  ++msgs_received_;
  bytes_received_ += msg.payload().size();
  up_protocol()->up(msg);
}

}  // namespace cohort
