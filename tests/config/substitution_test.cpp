#include <doctest/doctest.h>

#include <cstdlib>

#include "config/substitution.hpp"

using namespace cohort;

namespace {
VariableLookup table(std::map<std::string, std::string> values) {
  return [values = std::move(values)](const std::string& name) -> std::optional<std::string> {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  };
}
}  // namespace

TEST_CASE("substitute: text without references is unchanged") {
  auto none = table({});
  CHECK(substitute("", none) == "");
  CHECK(substitute("7800", none) == "7800");
  CHECK(substitute("a$b {c} $", none) == "a$b {c} $");
}

TEST_CASE("substitute: NAME or NAME with default or first defined of A and B") {
  auto vars = table({{"HOST", "10.0.0.1"}, {"B", "bee"}, {"EMPTY", ""}});
  CHECK(substitute("${HOST}", vars) == "10.0.0.1");
  CHECK(substitute("${PORT:7800}", vars) == "7800");
  CHECK(substitute("${HOST:127.0.0.1}", vars) == "10.0.0.1");
  CHECK(substitute("${A,B:dflt}", vars) == "bee");
  CHECK(substitute("${A, B}", vars) == "bee");
  CHECK(substitute("${A,C:dflt}", vars) == "dflt");
  CHECK(substitute("${A:}", vars) == "");
  CHECK(substitute("${EMPTY:x}", vars) == "");                     // defined as empty is defined
  CHECK(substitute("${URL:http://h:80}", vars) == "http://h:80");  // default after the first ':'
  CHECK(substitute("${HOST}[${PORT:7800}],x", vars) == "10.0.0.1[7800],x");
}

TEST_CASE("substitute: errors name the variable") {
  auto none = table({});
  CHECK_THROWS_WITH_AS(substitute("${COHORT_RAFT_ID}", none),
                       "unresolved variable ${COHORT_RAFT_ID}: COHORT_RAFT_ID is not defined (use "
                       "-D COHORT_RAFT_ID=VALUE or the environment)",
                       SubstitutionError);
  CHECK_THROWS_WITH_AS(substitute("${A,B}", none),
                       "unresolved variable ${A,B}: none of A, B is defined (use -D NAME=VALUE or "
                       "the environment)",
                       SubstitutionError);
  CHECK_THROWS_WITH_AS(substitute("x${A", none), "unterminated ${ in 'x${A' (missing '}')",
                       SubstitutionError);
  CHECK_THROWS_WITH_AS(substitute("${:d}", none), "empty variable name in ${:d}",
                       SubstitutionError);
}

TEST_CASE("make_lookup: -D overrides first and then the environment") {
  ::setenv("COHORT_TEST_SUBST_ENV", "from-env", 1);
  ::setenv("COHORT_TEST_SUBST_BOTH", "from-env", 1);
  Overrides overrides{{"COHORT_TEST_SUBST_BOTH", "from-D"}, {"ONLY_D", "d"}};
  auto lookup = make_lookup(overrides);
  CHECK(substitute("${COHORT_TEST_SUBST_ENV}", lookup) == "from-env");
  CHECK(substitute("${COHORT_TEST_SUBST_BOTH}", lookup) == "from-D");
  CHECK(substitute("${ONLY_D}", lookup) == "d");
  CHECK(substitute("${COHORT_TEST_SUBST_UNSET_XYZ:dflt}", lookup) == "dflt");
  ::unsetenv("COHORT_TEST_SUBST_ENV");
  ::unsetenv("COHORT_TEST_SUBST_BOTH");
}

TEST_CASE("parse_overrides: NAME=VALUE") {
  auto o = parse_overrides({"A=1", "B=", "C=x=y", "A=2"});
  CHECK(o.size() == 3);
  CHECK(o["A"] == "2");  // the later definition wins
  CHECK(o["B"] == "");
  CHECK(o["C"] == "x=y");
  CHECK_THROWS_WITH_AS(parse_overrides({"A=1", "NOVALUE"}),
                       "-D NOVALUE: expected NAME=VALUE (missing '=')", std::invalid_argument);
  CHECK_THROWS_WITH_AS(parse_overrides({"=1"}), "-D =1: expected NAME=VALUE (empty NAME)",
                       std::invalid_argument);
}
