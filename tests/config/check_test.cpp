#include <doctest/doctest.h>

#include <sstream>

#include "config/check.hpp"
#include "config_test_util.hpp"
#include "fake_protocols.hpp"

using namespace cohort;
using cohort::test::fake_registry;
using cohort::test::TempFile;

namespace {
struct Result {
  int code;
  std::string out, err;
};
Result check(const std::string& path, const std::vector<std::string>& definitions = {}) {
  std::ostringstream out, err;
  int code = check_config(path, definitions, out, err, fake_registry());
  return {code, out.str(), err.str()};
}
}  // namespace

TEST_CASE("check_config: prints the stack bottom to top with every value and returns 0") {
  TempFile file("check_ok.xml",
                "<config>\n"
                "  <FAKE_TP bind_port=\"${PORT:7800}\"/>\n"
                "  <FAKE_REQ raft_id=\"${ID}\"/>\n"
                "</config>\n");
  auto r = check(file.path(), {"ID=B", "PORT=7801"});
  CHECK(r.code == 0);
  CHECK(r.err == "");
  CHECK(r.out ==
        "FAKE_TP bind_port=\"7801\" bundle=\"true\"\n"
        "FAKE_REQ raft_id=\"B\" members=\"\"\n");
}

TEST_CASE("check_config: one error line on stderr and returns 1") {
  TempFile file("check_bad.xml", "<config>\n  <FAKE_TP/>\n  <FAKE_REQ/>\n</config>\n");
  auto r = check(file.path());
  CHECK(r.code == 1);
  CHECK(r.out == "");
  CHECK(r.err == file.path() +
                     ":3: FAKE_REQ.raft_id: missing required attribute (this member's "
                     "Raft id)\n");

  auto missing = check("/nonexistent/x.xml");
  CHECK(missing.code == 1);
  CHECK(missing.err == "/nonexistent/x.xml: cannot read: No such file or directory\n");

  auto bad_define = check(file.path(), {"ID"});
  CHECK(bad_define.code == 1);
  CHECK(bad_define.err == file.path() + ": -D ID: expected NAME=VALUE (missing '=')\n");
}
