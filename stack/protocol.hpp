#pragma once
// Protocol: one layer of a channel's stack (JGroups' shape). Messages and events travel on
// separate up/down paths; the default implementation passes everything through, so a protocol
// overrides only what it handles and claims messages by its own header id.
//
// Lifecycle: init() after the stack is assembled and attributes are bound (validate here; throw
// std::invalid_argument naming the attribute on a bad combination), start() when the channel
// connects, stop() when it disconnects, destroy() before deletion.
//
// Loop affinity: every method runs on the channel's loop (single-threaded; no locks inside
// protocols). Time, timers, randomness and blocking work go through runtime().
#include <any>
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "stack/attribute.hpp"
#include "stack/event.hpp"
#include "stack/message.hpp"
#include "stack/runtime.hpp"

namespace cohort {

class ProtocolStack;

class Protocol {
 public:
  explicit Protocol(std::string name) : name_(std::move(name)) {}
  virtual ~Protocol() = default;
  Protocol(const Protocol&) = delete;
  Protocol& operator=(const Protocol&) = delete;

  /// The XML element name (`FD_ALL`, `TCP`).
  const std::string& name() const { return name_; }
  /// Transports sit at the bottom of a stack.
  virtual bool is_transport() const { return false; }

  virtual void init() {}
  virtual void start() {}
  virtual void stop() {}
  virtual void destroy() {}

  virtual void down(Message& msg) { down_->down(msg); }
  virtual void up(Message& msg) { up_->up(msg); }
  /// Default: pass the whole batch up; protocols that claim messages override.
  virtual void up(MessageBatch& batch) { up_->up(batch); }
  virtual std::any down(Event& ev) { return down_ ? down_->down(ev) : std::any(); }
  virtual std::any up(Event& ev) { return up_ ? up_->up(ev) : std::any(); }

  Protocol* up_protocol() const { return up_; }
  Protocol* down_protocol() const { return down_; }
  ProtocolStack& stack() const { return *stack_; }
  Runtime& runtime() const;

  const std::vector<Attribute>& attributes() const { return attributes_; }
  Attribute* find_attribute(std::string_view name);
  /// Sets an attribute from text; "" on success, else what is wrong with the value.
  std::string set_attribute(std::string_view name, std::string_view value);

  struct Stat {
    uint64_t value = 0;
    std::string description;
  };
  const std::map<std::string, Stat, std::less<>>& stats() const { return stats_; }
  uint64_t stat(std::string_view name) const;

 protected:
  // Declares an attribute bound to a member. Call from the constructor, after the member holds
  // its default. Durations take units ("500ms"); sizes ("64KB") use declare_size.
  void declare(std::string name, bool& ref, std::string description);
  void declare(std::string name, int& ref, std::string description);
  void declare(std::string name, int64_t& ref, std::string description);
  void declare(std::string name, uint64_t& ref, std::string description);
  void declare(std::string name, double& ref, std::string description);
  void declare(std::string name, std::string& ref, std::string description, bool required = false);
  void declare(std::string name, std::chrono::nanoseconds& ref, std::string description);
  void declare_size(std::string name, uint64_t& ref, std::string description);
  /// Declares a counter; the returned reference stays valid for the protocol's lifetime.
  uint64_t& counter(std::string name, std::string description);

 private:
  friend class ProtocolStack;
  void add_attribute(Attribute a);

  std::string name_;
  Protocol* up_ = nullptr;
  Protocol* down_ = nullptr;
  ProtocolStack* stack_ = nullptr;
  std::vector<Attribute> attributes_;
  std::map<std::string, Stat, std::less<>> stats_;
};

}  // namespace cohort
