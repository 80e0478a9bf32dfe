#pragma once
// ProcessCluster: starts `cohort node` member processes on 127.0.0.1 for the demo and the
// end-to-end tests, kills them with SIGKILL by PID, restarts them, and stops every process it
// started (never anything else). Each member's output goes to <dir>/<name>.log.
#include <sys/types.h>

#include <string>
#include <vector>

namespace cohort::tools {

struct MemberProcess {
  std::string name;
  int tcp_port = 0;
  int client_port = 0;
  pid_t pid = -1;
  std::string client_address() const;
};

class ProcessCluster {
 public:
  /// `config` is a stack file; members get ports base_port+i (TCP) and client_base+i.
  ProcessCluster(std::string executable, std::string config, std::string dir,
                 std::vector<std::string> names, int base_port, int client_base);
  ~ProcessCluster();  ///< stops every member still running

  void start_all();
  void start(size_t i);
  /// SIGKILL, then reap.
  void kill(size_t i);
  /// SIGTERM, wait up to 5 s, then SIGKILL.
  void stop(size_t i);
  bool running(size_t i) const { return members_[i].pid > 0; }
  const std::vector<MemberProcess>& members() const { return members_; }
  std::vector<std::string> client_addresses() const;
  const std::string& dir() const { return dir_; }

 private:
  std::string executable_, config_, dir_;
  std::vector<MemberProcess> members_;
  std::string initial_hosts_;
};

}  // namespace cohort::tools
