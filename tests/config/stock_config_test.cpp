// The stock configurations in config/ must stay valid against the built-in protocols.
#include <doctest/doctest.h>

#include <filesystem>

#include "config/null_runtime.hpp"
#include "config/stack_builder.hpp"
#include "protocols/builtin.hpp"

using namespace cohort;

namespace {
std::string stock(const char* name) {
  return (std::filesystem::path(__FILE__).parent_path() / "../../config" / name).string();
}
}  // namespace

TEST_CASE("stock config: loopback.xml builds with the built-in protocols") {
  register_builtin_protocols();
  auto stack =
      build_stack(load_config_file(stock("loopback.xml")), std::make_shared<NullRuntime>());
  REQUIRE(stack->bottom() != nullptr);
  CHECK(stack->bottom()->name() == "LOOPBACK");
  CHECK(stack->bottom()->is_transport());
}
