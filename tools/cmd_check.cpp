// `cohort check FILE.xml [-D NAME=VALUE]...`: validates a stack configuration and prints the stack
// bottom to top with every effective attribute value; exit 1 with one error line on stderr.
#include <CLI/CLI.hpp>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "config/check.hpp"
#include "tools/commands.hpp"

namespace cohort::tools {

void add_check_command(CLI::App& app) {
  struct Options {
    std::string file;
    std::vector<std::string> definitions;
  };
  auto options = std::make_shared<Options>();
  auto* cmd = app.add_subcommand(
      "check", "Validate a stack configuration and print it, bottom to top, with every value");
  cmd->add_option("file", options->file, "The stack configuration (XML)")->required();
  cmd->add_option("-D,--define", options->definitions,
                  "Define a variable for ${NAME} substitution (NAME=VALUE); may be repeated")
      ->type_name("NAME=VALUE")
      ->allow_extra_args(false);  // one NAME=VALUE per -D, so FILE may come after it
  cmd->callback([options] {
    if (check_config(options->file, options->definitions, std::cout, std::cerr) != 0)
      throw CLI::RuntimeError(1);
  });
}

}  // namespace cohort::tools
