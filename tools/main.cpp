// `cohort`: the command line. Sub-commands are in tools/cmd_*.cpp.
#include <CLI/CLI.hpp>

#include "tools/channel_factory.hpp"
#include "tools/commands.hpp"

int main(int argc, char** argv) {
  cohort::tools::register_all_protocols();
  CLI::App app{"cohort: a protocol-stack toolkit with Raft consensus"};
  app.require_subcommand(1);
  cohort::tools::add_version_command(app);
  cohort::tools::add_check_command(app);
  cohort::tools::add_perf_stack_command(app);
  cohort::tools::add_demo_command(app);
  cohort::tools::add_node_command(app);
  cohort::tools::add_perf_net_command(app);
  cohort::tools::add_shell_commands(app);
  cohort::tools::add_perf_encrypt_command(app);
  cohort::tools::add_perf_raft_command(app);
  cohort::tools::add_perf_counter_command(app);
  CLI11_PARSE(app, argc, argv);
  return 0;
}
