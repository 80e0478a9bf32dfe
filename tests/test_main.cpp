// doctest's main, plus one guard: a run whose filters select no test case fails. CTest runs
// each case by name; a name CMake cannot carry (a ';' splits it) would otherwise select
// nothing and pass silently.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "source_dir.hpp"

const char* cohort::test::source_dir() {
  return COHORT_SOURCE_DIR;
}

namespace {

int g_selected = -1;  // test cases that passed the filters; -1: no test run happened

struct SelectionListener : doctest::IReporter {
  explicit SelectionListener(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& stats) override {
    g_selected = static_cast<int>(stats.numTestCasesPassingFilters);
  }
  void test_case_start(const doctest::TestCaseData&) override {}
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats&) override {}
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}
};

}  // namespace

REGISTER_LISTENER("selection", 1, SelectionListener);

namespace {

// The simulation suites' switches, taken out of argv before doctest sees it:
//   --seeds N  runs N seeds per simulation case (COHORT_SIM_SEEDS)
//   --seed S   replays one seed (COHORT_SIM_SEED)
std::vector<char*> take_sim_switches(int argc, char** argv) {
  std::vector<char*> rest;
  for (int i = 0; i < argc; ++i) {
    std::string_view a = argv[i];
    const char* var = a == "--seeds"  ? "COHORT_SIM_SEEDS"
                      : a == "--seed" ? "COHORT_SIM_SEED"
                                      : nullptr;
    if (var && i + 1 < argc) {
      ::setenv(var, argv[++i], 1);
      continue;
    }
    rest.push_back(argv[i]);
  }
  return rest;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args = take_sim_switches(argc, argv);
  doctest::Context context(static_cast<int>(args.size()), args.data());
  const int result = context.run();
  if (context.shouldExit()) return result;
  if (g_selected == 0) {
    std::fprintf(stderr, "error: the filters select no test case (a ';' in a name?)\n");
    return result != 0 ? result : 1;
  }
  return result;
}
