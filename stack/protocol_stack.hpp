#pragma once
// ProtocolStack: the ordered protocols of one channel, bottom (transport) first. It links the
// up/down pointers, runs the lifecycle and lets protocols be found by name, inserted and removed
// at run time (on the loop). The top of the stack is a sink the channel provides.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "stack/protocol.hpp"
#include "stack/runtime.hpp"

namespace cohort {

class ProtocolStack {
 public:
  explicit ProtocolStack(std::shared_ptr<Runtime> runtime) : runtime_(std::move(runtime)) {}
  ~ProtocolStack();

  /// Appends on top of the protocols added so far (build bottom-up). Before init() only.
  void add(std::unique_ptr<Protocol> p);
  /// The channel's sink above the top protocol (not owned).
  void set_top(Protocol* top);

  /// Links the layers and calls init() bottom-up. Throws std::invalid_argument on a bad stack
  /// (empty, no transport at the bottom, a transport above the bottom).
  void init();
  void start();  ///< top-down, as JGroups does, so upper layers are ready before traffic arrives
  void stop();   ///< top-down

  Protocol* find(std::string_view name) const;
  template <typename T>
  T* find() const {
    for (auto& p : protocols_)
      if (auto* t = dynamic_cast<T*>(p.get())) return t;
    return nullptr;
  }
  Protocol* bottom() const { return protocols_.empty() ? nullptr : protocols_.front().get(); }
  Protocol* top_protocol() const { return protocols_.empty() ? nullptr : protocols_.back().get(); }
  const std::vector<std::unique_ptr<Protocol>>& protocols() const { return protocols_; }

  /// Inserts p directly above the protocol named `above` (initialised and, if the stack runs,
  /// started). Throws std::invalid_argument if `above` is not found.
  void insert_above(std::unique_ptr<Protocol> p, std::string_view above);
  /// Stops, unlinks and returns the protocol named `name` (nullptr if absent).
  std::unique_ptr<Protocol> remove(std::string_view name);

  /// Entry points used by the channel.
  void down(Message& m) { protocols_.back()->down(m); }
  std::any down(Event& e) { return protocols_.back()->down(e); }

  Runtime& runtime() const { return *runtime_; }
  const std::shared_ptr<Runtime>& runtime_ptr() const { return runtime_; }
  bool running() const { return running_; }

  /// One line per protocol, bottom to top, with every effective attribute value.
  std::string describe() const;

 private:
  void relink();
  std::shared_ptr<Runtime> runtime_;
  std::vector<std::unique_ptr<Protocol>> protocols_;
  Protocol* top_ = nullptr;
  bool initialised_ = false;
  bool running_ = false;
};

}  // namespace cohort
