// The stock configurations in config/ must stay valid against the built-in protocols.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>

#include "config/check.hpp"
#include "config/null_runtime.hpp"
#include "config/stack_builder.hpp"
#include "discovery/register.hpp"
#include "protocols/builtin.hpp"
#include "source_dir.hpp"

using namespace cohort;

namespace {
std::string stock(const char* name) {
  return (std::filesystem::path(cohort::test::source_dir()) / "config" / name).string();
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

TEST_CASE("stock config: every config/*.xml passes cohort check (secrets in the environment)") {
  register_builtin_protocols();
  register_discovery_protocols();
  // Keys and secrets come from the environment only (the *-encrypt.xml variants).
  ::setenv("COHORT_SYM_KEY", std::string(64, 'a').c_str(), 1);
  ::setenv("COHORT_AUTH_SECRET", "stock config test secret", 1);
  auto log_dir = std::filesystem::temp_directory_path() / "cohort_stock_config_test";
  std::filesystem::create_directories(log_dir);
  auto dir = std::filesystem::path(stock(""));
  int checked = 0;
  for (auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".xml") continue;
    std::ostringstream out, err;
    int code = check_config(entry.path().string(),
                            {"COHORT_RAFT_ID=A", "COHORT_LOG_DIR=" + log_dir.string()}, out, err);
    CHECK_MESSAGE(code == 0, entry.path().filename().string(), ": ", err.str());
    ++checked;
    if (entry.path().filename().string().find("-encrypt") != std::string::npos)
      CHECK_MESSAGE(out.str().find("SYM_ENCRYPT") != std::string::npos, entry.path());
  }
  CHECK(checked >= 11);  // a folder that was not found would check none
  for (const char* name : {"udp-encrypt.xml", "tcp-gms-encrypt.xml"}) {
    std::ostringstream out, err;
    REQUIRE(check_config(stock(name), {}, out, err) == 0);
    CHECK_MESSAGE(out.str().find("AUTH") != std::string::npos, name);
  }
  // Without the secret the encrypted stacks refuse to build, naming the attribute.
  ::unsetenv("COHORT_AUTH_SECRET");
  std::ostringstream out, err;
  CHECK(check_config(stock("tcp-gms-encrypt.xml"), {}, out, err) == 1);
  CHECK(err.str().find("secret_env") != std::string::npos);
  ::unsetenv("COHORT_SYM_KEY");
  std::filesystem::remove_all(log_dir);
}
