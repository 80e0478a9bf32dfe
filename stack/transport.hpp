#pragma once
// Transport: the bottom protocol. It learns the local address (SET_LOCAL_ADDRESS) and the
// cluster (CONNECT), sends messages that reach the bottom of the stack, and passes received
// messages up (as batches when several arrive together). Physical addresses stay in here.
//
// Subclasses implement send_to_group / send_to_member and call deliver() for what arrives.
// Counters: messages and bytes sent/received, batches, dropped and malformed frames.
#include <string>

#include "stack/protocol.hpp"

namespace cohort {

class Transport : public Protocol {
 public:
  explicit Transport(std::string name);
  bool is_transport() const final { return true; }

  void down(Message& msg) override;
  std::any down(Event& ev) override;

  const Address& local_address() const { return local_; }
  const std::string& cluster() const { return cluster_; }
  /// True if the transport can send one message to the whole group at once (IP multicast).
  virtual bool supports_multicast() const { return false; }

 protected:
  /// Called on CONNECT (cluster_ is set) and DISCONNECT.
  virtual void connect() {}
  virtual void disconnect() {}
  virtual void send_to_group(Message& msg) = 0;
  virtual void send_to_member(Message& msg) = 0;

  /// Passes received messages up; messages to self are delivered too (loopback of multicasts).
  void deliver(MessageBatch& batch);
  void deliver(Message& msg);

  Address local_;
  std::string cluster_;
  uint64_t& msgs_sent_;
  uint64_t& bytes_sent_;
  uint64_t& msgs_received_;
  uint64_t& bytes_received_;
  uint64_t& batches_received_;
  uint64_t& dropped_;
  uint64_t& malformed_;
};

}  // namespace cohort
