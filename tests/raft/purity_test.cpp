// The Raft cores are pure (STYLE "What we take" 1, 3, 10): no clock, sleep, thread, global RNG,
// file or socket. This test reads their sources and fails on any such use.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "source_dir.hpp"

namespace fs = std::filesystem;

TEST_CASE("purity: the Raft cores read no clock, start no thread, use no global RNG or I/O") {
  fs::path core = fs::path(cohort::test::source_dir()) / "protocols/raft/core";
  REQUIRE(fs::is_directory(core));
  const std::regex forbidden(
      R"(std::chrono|<chrono>|<thread>|std::thread|std::async|\bsleep|\brand\s*\(|srand|)"
      R"(random_device|\btime\((nullptr|NULL|0)?\)|<fstream>|\bsocket\s*\(|\bfopen\b|getenv)");
  size_t files = 0;
  for (const auto& f : fs::directory_iterator(core)) {
    auto ext = f.path().extension();
    if (ext != ".hpp" && ext != ".cpp") continue;
    ++files;
    std::ifstream in(f.path());
    std::string line;
    for (int n = 1; std::getline(in, line); ++n) {
      INFO(f.path().filename().string() << ":" << n << ": " << line);
      CHECK_FALSE(std::regex_search(line, forbidden));
    }
  }
  CHECK(files >= 10);
}
