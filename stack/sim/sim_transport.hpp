#pragma once
// SIM: the transport of a simulated node. It must run on a SimRuntime (the world comes from it).
// Like LOOPBACK it installs views from the simulated membership unless `views="false"`.
#include "stack/transport.hpp"

namespace cohort::sim {

class SimRuntime;

class SimTransport : public Transport {
 public:
  SimTransport();
  ~SimTransport() override;
  std::any down(Event& ev) override;
  bool supports_multicast() const override { return true; }

  /// Called by SimNetwork when a frame arrives (on this node's loop).
  void receive(const Buffer& frame);
  const std::string& node_name() const;
  SimRuntime& sim_runtime() const;

 protected:
  void connect() override;
  void disconnect() override;
  void send_to_group(Message& msg) override;
  void send_to_member(Message& msg) override;

 private:
  void install_views();
  bool views_ = true;
  bool attached_ = false;
  uint64_t view_id_ = 0;
};

/// Registers SIM with the ProtocolRegistry.
void register_sim_transport();

}  // namespace cohort::sim
