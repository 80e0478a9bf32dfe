#include "tools/process_cluster.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <stdexcept>
#include <thread>

namespace cohort::tools {

std::string MemberProcess::client_address() const {
  return fmt::format("127.0.0.1:{}", client_port);
}

ProcessCluster::ProcessCluster(std::string executable, std::string config, std::string dir,
                               std::vector<std::string> names, int base_port, int client_base)
    : executable_(std::move(executable)), config_(std::move(config)), dir_(std::move(dir)) {
  for (size_t i = 0; i < names.size(); ++i) {
    int tcp = base_port + static_cast<int>(i);
    members_.push_back({names[i], tcp, client_base + static_cast<int>(i), -1});
    initial_hosts_ += fmt::format("{}127.0.0.1[{}]", i ? "," : "", tcp);
  }
}

ProcessCluster::~ProcessCluster() {
  for (size_t i = 0; i < members_.size(); ++i)
    if (running(i)) stop(i);
}

void ProcessCluster::start_all() {
  for (size_t i = 0; i < members_.size(); ++i)
    start(i);
}

void ProcessCluster::start(size_t i) {
  MemberProcess& m = members_[i];
  std::string members;
  for (auto& o : members_)
    members += (members.empty() ? "" : ",") + o.name;
  std::vector<std::string> args = {executable_, "node",
                                   "--config",  config_,
                                   "--name",    m.name,
                                   "-D",        fmt::format("COHORT_TCP_PORT={}", m.tcp_port),
                                   "-D",        fmt::format("COHORT_CLIENT_PORT={}", m.client_port),
                                   "-D",        "COHORT_INITIAL_HOSTS=" + initial_hosts_,
                                   "-D",        "COHORT_MEMBERS=" + members,
                                   "-D",        fmt::format("COHORT_LOG_DIR={}/{}", dir_, m.name)};
  std::string log = fmt::format("{}/{}.log", dir_, m.name);
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(executable_.c_str(), argv.data());
    _exit(127);
  }
  m.pid = pid;
}

void ProcessCluster::kill(size_t i) {
  MemberProcess& m = members_[i];
  if (m.pid <= 0) return;
  ::kill(m.pid, SIGKILL);
  waitpid(m.pid, nullptr, 0);
  m.pid = -1;
}

void ProcessCluster::stop(size_t i) {
  MemberProcess& m = members_[i];
  if (m.pid <= 0) return;
  ::kill(m.pid, SIGTERM);
  for (int waited = 0; waited < 500; ++waited) {
    if (waitpid(m.pid, nullptr, WNOHANG) == m.pid) {
      m.pid = -1;
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(i);
}

std::vector<std::string> ProcessCluster::client_addresses() const {
  std::vector<std::string> out;
  for (auto& m : members_)
    out.push_back(m.client_address());
  return out;
}

}  // namespace cohort::tools
