#pragma once
// Each `cohort` sub-command lives in its own tools/cmd_<name>.cpp and adds itself to the CLI.
namespace CLI {
class App;
}

namespace cohort::tools {

void add_version_command(CLI::App& app);
void add_check_command(CLI::App& app);
/// `cohort perf stack`: the message-path benchmark (tools/cmd_perf_stack.cpp).
void add_perf_stack_command(CLI::App& app);
void add_demo_command(CLI::App& app);
void add_node_command(CLI::App& app);
void add_perf_net_command(CLI::App& app);
/// `cohort kv`, `cohort counter`, `cohort lock`: shells over RemoteClient (tools/cmd_shells.cpp).
void add_shell_commands(CLI::App& app);
/// `cohort perf encrypt`: SYM_ENCRYPT overhead (tools/cmd_perf_encrypt.cpp).
void add_perf_encrypt_command(CLI::App& app);
/// `cohort perf raft`: Raft commits/s and latency, 3 in-process members (tools/cmd_perf_raft.cpp).
void add_perf_raft_command(CLI::App& app);
/// `cohort perf counter`: Counter increments/s through RaftHandle (tools/cmd_perf_counter.cpp).
void add_perf_counter_command(CLI::App& app);

}  // namespace cohort::tools
