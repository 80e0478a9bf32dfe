#pragma once
// Helpers for the config tests: run a parse or build and return the ConfigError line.
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>

#include "config/config_error.hpp"

namespace cohort::test {

/// The what() of the ConfigError `fn` throws, or "no error".
template <typename Fn>
std::string config_error_of(Fn&& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

/// A file under the temp directory that is removed when this goes out of scope.
class TempFile {
 public:
  TempFile(const std::string& name, const std::string& content)
      : path_(std::filesystem::temp_directory_path() /
              ("cohort_config_test_" + std::to_string(::getpid()) + "_" + name)) {
    std::ofstream(path_) << content;
  }
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path_, ec);
  }
  std::string path() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace cohort::test
