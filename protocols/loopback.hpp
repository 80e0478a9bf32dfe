#pragma once
// LOOPBACK: an in-process transport shared by the channels of one process (JGroups'
// SHARED_LOOPBACK). Messages are handed over as objects (payloads shared, never copied or
// encoded); each receiver has an inbox that is drained on its own loop, so a burst of sends
// arrives as one batch. Channels of the same cluster discover each other in-process, and since
// membership is exact here, LOOPBACK also installs views (join order) unless `views="false"`
// (when GMS is in the stack).
#include <memory>
#include <vector>

#include "stack/transport.hpp"

namespace cohort {

class Loopback : public Transport {
 public:
  Loopback();
  ~Loopback() override;
  std::any down(Event& ev) override;
  bool supports_multicast() const override { return true; }

  struct Endpoint;  // shared with the process-wide registry

 protected:
  void connect() override;
  void disconnect() override;
  void send_to_group(Message& msg) override;
  void send_to_member(Message& msg) override;

 private:
  void drain_inbox();
  bool views_ = true;
  uint64_t max_inbox_ = 1'000'000;
  std::shared_ptr<Endpoint> self_;
  std::shared_ptr<Endpoint> last_target_;
  /// An emptied inbox vector kept for its capacity (loop only), up to max_spare_msgs.
  std::vector<Message> spare_;
  static constexpr size_t max_spare_msgs = 16384;
};

}  // namespace cohort
