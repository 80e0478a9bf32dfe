#pragma once
// Channel: what an application opens. It owns a protocol stack (built from XML by config/ or by
// hand) and that stack's runtime loop. Every public method is callable from any thread: work is
// posted to the loop. Receiver callbacks run on the loop; keep them short or hand work off.
//
// Results come back as callbacks here; stack/channel_async.hpp adds Asio completion-token
// versions (callback, asio::use_future, asio::use_awaitable).
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include "stack/protocol_stack.hpp"
#include "stack/view.hpp"

namespace cohort {

class Channel {
 public:
  using MessageHandler = std::function<void(Message&)>;
  using ViewHandler = std::function<void(const View&)>;
  using EventHandler = std::function<void(const Event&)>;
  using Done = std::function<void(std::error_code)>;

  /// Takes an initialised stack (see config::build_stack); its runtime drives the channel.
  explicit Channel(std::unique_ptr<ProtocolStack> stack);
  /// Closes the channel and shuts its runtime down.
  ~Channel();
  Channel(const Channel&) = delete;
  Channel& operator=(const Channel&) = delete;

  /// The logical name of this member (before connect).
  void set_name(std::string name);
  /// Handlers (set before connect). Messages and views arrive on the loop thread.
  void on_message(MessageHandler h);
  void on_view(ViewHandler h);
  /// Any other event that reaches the top of the stack (e.g. LEADER_CHANGED). Listeners are
  /// added, not replaced; the id removes one (nullptr removes all). Add and remove before connect
  /// or on the loop.
  uint64_t on_event(EventHandler h);
  void remove_event_listener(uint64_t id);

  /// Picks an address, starts the stack and joins `cluster`; `done` runs on the loop.
  void connect(std::string cluster, Done done);
  /// Blocking form (not from the loop thread).
  void connect(std::string cluster);
  /// Sends a message (dest null = the group). Fire-and-forget; errors are counted by the stack.
  void send(Message msg);
  void send(const Address& dest, Buffer payload) { send(Message(dest, std::move(payload))); }
  /// Leaves the cluster and stops the stack. Blocking (not from the loop); idempotent.
  void close();

  View view() const;
  Address address() const;
  const std::string& cluster() const { return cluster_; }
  bool connected() const;
  ProtocolStack& stack() { return *stack_; }
  Runtime& runtime() { return stack_->runtime(); }

  /// Runs fn on the loop and waits for it (not from the loop thread). For tools and tests.
  void invoke(std::function<void()> fn);

 private:
  class Top;
  std::unique_ptr<ProtocolStack> stack_;
  std::unique_ptr<Top> top_;
  std::string name_;
  std::string cluster_;
  mutable std::mutex mu_;  // guards view_, address_, state_
  View view_;
  Address address_;
  enum class State { idle, connected, closed } state_ = State::idle;
  MessageHandler on_message_;
  ViewHandler on_view_;
  std::vector<std::pair<uint64_t, EventHandler>> on_event_;
  uint64_t next_listener_id_ = 0;
};

}  // namespace cohort
