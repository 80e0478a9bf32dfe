// ProtocolRegistry (XML name → factory) and HeaderRegistry (protocol id → name, decoder).
#include <doctest/doctest.h>

#include <algorithm>
#include <memory>

#include "stack/header.hpp"
#include "stack/protocol_ids.hpp"
#include "stack/protocol_registry.hpp"

using namespace cohort;

namespace {
class RegTestProto : public Protocol {
 public:
  RegTestProto() : Protocol("REG_TEST_PROTO") {}
};

struct EmptyHeader : Header {
  void encode(codec::Writer&) const override {}
  static HeaderPtr decode(codec::Reader&) { return std::make_shared<EmptyHeader>(); }
};
}  // namespace

TEST_CASE("protocol registry: factories by name") {
  auto& reg = ProtocolRegistry::instance();
  CHECK_FALSE(reg.contains("REG_TEST_PROTO"));
  CHECK(reg.create("REG_TEST_PROTO") == nullptr);
  register_protocol<RegTestProto>("REG_TEST_PROTO");
  CHECK(reg.contains("REG_TEST_PROTO"));
  auto p = reg.create("REG_TEST_PROTO");
  REQUIRE(p);
  CHECK(p->name() == "REG_TEST_PROTO");
  CHECK(reg.create("REG_TEST_PROTO").get() != p.get());  // a new instance each time
  auto names = reg.names();
  CHECK(std::find(names.begin(), names.end(), "REG_TEST_PROTO") != names.end());
  CHECK(std::is_sorted(names.begin(), names.end()));
  register_protocol<RegTestProto>("REG_TEST_PROTO");  // idempotent
  CHECK(reg.contains("REG_TEST_PROTO"));
}

TEST_CASE("header registry: ids map to names and decoders, unknown ids to none") {
  auto& reg = HeaderRegistry::instance();
  register_header<EmptyHeader>(900, "REG_TEST");
  register_header<EmptyHeader>(900, "REG_TEST");  // the same name again is fine
  CHECK(std::string(reg.name(900)) == "REG_TEST");
  CHECK((reg.decoder(900) == &EmptyHeader::decode));
  CHECK((reg.decoder(901) == nullptr));
  CHECK(std::string(reg.name(901)) == "?");
  CHECK((reg.decoder(0xffff) == nullptr));
  CHECK(std::string(reg.name(0xffff)) == "?");
}
