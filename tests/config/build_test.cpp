#include <doctest/doctest.h>

#include "config/null_runtime.hpp"
#include "config/stack_builder.hpp"
#include "config_test_util.hpp"
#include "fake_protocols.hpp"

using namespace cohort;
using cohort::test::config_error_of;
using cohort::test::fake_registry;

namespace {
std::unique_ptr<ProtocolStack> build(std::string_view xml, const Overrides& overrides = {}) {
  return build_stack(parse_config(xml, "s.xml", overrides), std::make_shared<NullRuntime>(),
                     fake_registry());
}
std::string error_of(std::string_view xml) {
  return config_error_of([&] { build(xml); });
}
}  // namespace

TEST_CASE("build_stack: creates and binds every attribute type and initialises bottom first") {
  auto stack = build(
      "<config>\n"
      "  <FAKE_TP bind_port=\"${PORT}\" bundle=\"false\"/>\n"
      "  <FAKE_ALL flag=\"true\" count=\"-7\" big=\"-9000000000\" limit=\"5000000000\"\n"
      "            ratio=\"0.25\" label=\"hello world\" timeout=\"2s\" interval=\"250ms\"\n"
      "            max_size=\"64KB\"/>\n"
      "  <FAKE_REQ raft_id=\"A\"/>\n"
      "  <FAKE_NONE/>\n"
      "</config>\n",
      {{"PORT", "7900"}});
  REQUIRE(stack->protocols().size() == 4);
  CHECK(stack->bottom()->name() == "FAKE_TP");
  CHECK(stack->top_protocol()->name() == "FAKE_NONE");
  auto* tp = stack->find<test::FakeTransport>();
  CHECK(tp->bind_port == 7900);
  CHECK_FALSE(tp->bundle);
  auto* all = stack->find<test::FakeAll>();
  CHECK(all->flag);
  CHECK(all->count == -7);
  CHECK(all->big == -9000000000);
  CHECK(all->limit == 5000000000ull);
  CHECK(all->ratio == 0.25);
  CHECK(all->label == "hello world");
  CHECK(all->timeout == std::chrono::seconds(2));
  CHECK(all->interval == std::chrono::milliseconds(250));
  CHECK(all->max_size == 64000);
  CHECK(stack->find<test::FakeRequired>()->raft_id == "A");
  CHECK(all->up_protocol()->name() == "FAKE_REQ");
  CHECK(all->down_protocol()->name() == "FAKE_TP");
}

TEST_CASE("build_stack: describe() prints every effective value bottom to top") {
  auto stack = build("<config><FAKE_TP bind_port=\"1\"/><FAKE_ALL max_size=\"1MiB\"/></config>");
  CHECK(stack->describe() ==
        "FAKE_TP bind_port=\"1\" bundle=\"true\"\n"
        "FAKE_ALL flag=\"false\" count=\"3\" big=\"-1\" limit=\"100\" ratio=\"0.5\" label=\"x\" "
        "timeout=\"3s\" interval=\"500ms\" max_size=\"1MiB\"\n");
}

TEST_CASE("build_stack error: unknown protocol with a suggestion when one is close") {
  CHECK(error_of("<config>\n<FAKE_TP/>\n<FAKE_AL/>\n</config>") ==
        "s.xml:3: FAKE_AL: unknown protocol (did you mean FAKE_ALL?)");
  CHECK(error_of("<config>\n<fake_tp/>\n</config>") ==
        "s.xml:2: fake_tp: unknown protocol (did you mean FAKE_TP?)");
  CHECK(error_of("<config>\n<FAKE_TP/>\n<PBCAST/>\n</config>") ==
        "s.xml:3: PBCAST: unknown protocol (known protocols: FAKE_ALL, FAKE_NONE, FAKE_REQ, "
        "FAKE_TP, FAKE_TP2)");
}

TEST_CASE("build_stack error: unknown attribute with a suggestion when one is close") {
  CHECK(error_of("<config>\n<FAKE_TP/>\n<FAKE_ALL interval=\"1s\"\n tiemout=\"3s\"/>\n</config>") ==
        "s.xml:4: FAKE_ALL.tiemout: unknown attribute (did you mean timeout?)");
  CHECK(error_of("<config>\n<FAKE_TP mcast_port=\"1\"/>\n</config>") ==
        "s.xml:2: FAKE_TP.mcast_port: unknown attribute (attributes of FAKE_TP: bind_port, "
        "bundle)");
  CHECK(error_of("<config>\n<FAKE_TP/>\n<FAKE_NONE x=\"1\"/>\n</config>") ==
        "s.xml:3: FAKE_NONE.x: unknown attribute (FAKE_NONE has no attributes)");
}

TEST_CASE("build_stack error: bad value gives the setter's message") {
  CHECK(error_of("<config>\n<FAKE_TP/>\n<FAKE_ALL\n  timeout=\"3 seconds\"/>\n</config>") ==
        "s.xml:4: FAKE_ALL.timeout: '3 seconds' is not a duration (e.g. 500ms, 3s, 1m)");
  CHECK(error_of("<config>\n<FAKE_TP bind_port=\"80x\"/>\n</config>") ==
        "s.xml:2: FAKE_TP.bind_port: '80x' is not an integer");
  CHECK(error_of("<config>\n<FAKE_TP bind_port=\"99999999999\"/>\n</config>") ==
        "s.xml:2: FAKE_TP.bind_port: 99999999999 is out of range");
  CHECK(error_of("<config>\n<FAKE_TP bundle=\"maybe\"/>\n</config>") ==
        "s.xml:2: FAKE_TP.bundle: 'maybe' is not a boolean (true/false)");
  CHECK(error_of("<config><FAKE_TP/><FAKE_ALL max_size=\"lots\"/></config>") ==
        "s.xml:1: FAKE_ALL.max_size: 'lots' is not a size (e.g. 1500, 64KB, 1MiB)");
  CHECK(error_of("<config><FAKE_TP/><FAKE_ALL ratio=\"half\"/></config>") ==
        "s.xml:1: FAKE_ALL.ratio: 'half' is not a number");
}

TEST_CASE("build_stack error: missing or empty required attribute") {
  CHECK(error_of("<config>\n<FAKE_TP/>\n<FAKE_REQ members=\"A,B\"/>\n</config>") ==
        "s.xml:3: FAKE_REQ.raft_id: missing required attribute (this member's Raft id)");
  CHECK(error_of("<config>\n<FAKE_TP/>\n<FAKE_REQ\n raft_id=\"${ID:}\"/>\n</config>") ==
        "s.xml:4: FAKE_REQ.raft_id: required attribute is empty");
}

TEST_CASE("build_stack error: wrong order") {
  CHECK(error_of("<config>\n<FAKE_ALL/>\n<FAKE_NONE/>\n</config>") ==
        "s.xml:2: FAKE_ALL: not a transport: the bottom of the stack (the first protocol in "
        "<config>) must be a transport such as UDP, TCP or LOOPBACK");
  CHECK(error_of("<config>\n<FAKE_ALL/>\n<FAKE_TP/>\n</config>") ==
        "s.xml:3: FAKE_TP: a transport must be at the bottom of the stack (the first protocol in "
        "<config>), but it is above FAKE_ALL");
  CHECK(error_of("<config>\n<FAKE_TP/>\n<FAKE_ALL/>\n<FAKE_TP2/>\n</config>") ==
        "s.xml:4: FAKE_TP2: a transport must be at the bottom of the stack (the first protocol "
        "in <config>), but it is above FAKE_TP");
}

TEST_CASE("build_stack error: a protocol's init() names the attribute, the error has its line") {
  // Set in the file: the attribute's own line.
  CHECK(
      error_of("<config>\n<FAKE_TP/>\n<FAKE_ALL interval=\"1s\"\n  timeout=\"1s\"/>\n</config>") ==
      "s.xml:4: FAKE_ALL.timeout: must be greater than interval");
  // Left at its default: the protocol's line.
  CHECK(error_of("<config>\n<FAKE_TP/>\n<FAKE_ALL\n interval=\"5s\"/>\n</config>") ==
        "s.xml:3: FAKE_ALL.timeout: must be greater than interval");
}

TEST_CASE("build_stack: init errors of other shapes") {
  ProtocolRegistry registry;
  struct Throwing : Protocol {
    explicit Throwing(std::string m) : Protocol("THROWS"), message(std::move(m)) {}
    void init() override { throw std::invalid_argument(message); }
    std::string message;
    int port = 0;
  };
  std::string message;
  registry.add("FAKE_TP", [] { return std::make_unique<test::FakeTransport>(); });
  registry.add("THROWS", [&message] { return std::make_unique<Throwing>(message); });
  auto error = [&](std::string m) {
    message = std::move(m);
    return config_error_of([&] {
      build_stack(parse_config("<config>\n<FAKE_TP/>\n<THROWS/>\n</config>", "t.xml"),
                  std::make_shared<NullRuntime>(), registry);
    });
  };
  CHECK(error("FAKE_TP.bind_port: clashes with THROWS") ==
        "t.xml:2: FAKE_TP.bind_port: clashes with THROWS");
  CHECK(error("THROWS: cannot work with this transport") ==
        "t.xml:3: THROWS: cannot work with this transport");
  CHECK(error("something went wrong") == "t.xml: something went wrong");
  CHECK(error("two\nlines") == "t.xml: two lines");
}

TEST_CASE("build_stack: the global registry is the default") {
  ProtocolRegistry::instance().add("FAKE_GLOBAL_TP",
                                   [] { return std::make_unique<test::FakeTransport>(); });
  auto stack = build_stack(parse_config("<config><FAKE_GLOBAL_TP bind_port=\"5\"/></config>", "g"),
                           std::make_shared<NullRuntime>());
  CHECK(stack->find<test::FakeTransport>()->bind_port == 5);
}

TEST_CASE("ConfigError: parts and one-line formats") {
  ConfigError full("f.xml", 3, "FD_ALL", "timeout", "must be greater than interval");
  CHECK(std::string(full.what()) == "f.xml:3: FD_ALL.timeout: must be greater than interval");
  CHECK(full.file() == "f.xml");
  CHECK(full.line() == 3);
  CHECK(full.protocol() == "FD_ALL");
  CHECK(full.attribute() == "timeout");
  CHECK(full.message() == "must be greater than interval");
  CHECK(std::string(ConfigError("f.xml", 3, "GMS", "", "m").what()) == "f.xml:3: GMS: m");
  CHECK(std::string(ConfigError("f.xml", 3, "", "", "m").what()) == "f.xml:3: m");
  CHECK(std::string(ConfigError("f.xml", 0, "", "", "m").what()) == "f.xml: m");
}
