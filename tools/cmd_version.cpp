#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "tools/commands.hpp"

namespace cohort::tools {

void add_version_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print the cohort version");
  cmd->callback([] { fmt::print("cohort 0.1.0\n"); });
}

}  // namespace cohort::tools
