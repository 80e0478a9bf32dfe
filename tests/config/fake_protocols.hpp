#pragma once
// Tiny protocols for the config tests, so that they depend on nothing in protocols/:
//   FAKE_TP   a transport (bind_port, bundle)
//   FAKE_TP2  another transport, to put one in the wrong place
//   FAKE_ALL  one attribute of every type; init() checks "timeout > interval" the way real
//             protocols do (std::invalid_argument whose message starts with the attribute name)
//   FAKE_REQ  a required string attribute (raft_id) and an optional one (members)
//   FAKE_NONE no attributes
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "stack/protocol.hpp"
#include "stack/protocol_registry.hpp"

namespace cohort::test {

class FakeTransport : public Protocol {
 public:
  explicit FakeTransport(std::string name = "FAKE_TP") : Protocol(std::move(name)) {
    declare("bind_port", bind_port, "port to listen on");
    declare("bundle", bundle, "bundle messages");
  }
  bool is_transport() const override { return true; }
  int bind_port = 7800;
  bool bundle = true;
};

class FakeAll : public Protocol {
 public:
  FakeAll() : Protocol("FAKE_ALL") {
    declare("flag", flag, "a boolean");
    declare("count", count, "an int");
    declare("big", big, "an int64");
    declare("limit", limit, "a uint64");
    declare("ratio", ratio, "a double");
    declare("label", label, "a string");
    declare("timeout", timeout, "a duration, greater than interval");
    declare("interval", interval, "a duration");
    declare_size("max_size", max_size, "a size");
  }
  void init() override {
    if (timeout <= interval) throw std::invalid_argument("timeout: must be greater than interval");
  }
  bool flag = false;
  int count = 3;
  int64_t big = -1;
  uint64_t limit = 100;
  double ratio = 0.5;
  std::string label = "x";
  std::chrono::nanoseconds timeout = std::chrono::seconds(3);
  std::chrono::nanoseconds interval = std::chrono::milliseconds(500);
  uint64_t max_size = 65536;
};

class FakeRequired : public Protocol {
 public:
  FakeRequired() : Protocol("FAKE_REQ") {
    declare("raft_id", raft_id, "this member's Raft id", /*required=*/true);
    declare("members", members, "the Raft members");
  }
  std::string raft_id;
  std::string members;
};

class FakeNone : public Protocol {
 public:
  FakeNone() : Protocol("FAKE_NONE") {}
};

/// A registry holding the fakes only.
inline ProtocolRegistry& fake_registry() {
  static ProtocolRegistry registry = [] {
    ProtocolRegistry r;
    r.add("FAKE_TP", [] { return std::make_unique<FakeTransport>(); });
    r.add("FAKE_TP2", [] { return std::make_unique<FakeTransport>("FAKE_TP2"); });
    r.add("FAKE_ALL", [] { return std::make_unique<FakeAll>(); });
    r.add("FAKE_REQ", [] { return std::make_unique<FakeRequired>(); });
    r.add("FAKE_NONE", [] { return std::make_unique<FakeNone>(); });
    return r;
  }();
  return registry;
}

}  // namespace cohort::test
