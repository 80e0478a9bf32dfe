#include "tools/perf_cluster.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <any>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <stdexcept>
#include <thread>

#include "config/stack_builder.hpp"
#include "config/stack_config.hpp"
#include "protocols/raft/raft_events.hpp"
#include "stack/asio_runtime.hpp"
#include "tools/channel_factory.hpp"
#include "tools/embedded_configs.hpp"

namespace cohort::tools {

namespace fs = std::filesystem;

PerfCluster::PerfCluster(const std::string& log, int base_port,
                         const std::function<void(Channel&)>& before_connect) {
  register_all_protocols();
  std::string tmpl = (fs::temp_directory_path() / "cohort-perf-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("cannot create a temporary folder");
  dir_ = tmpl;
  const char* ids[] = {"A", "B", "C"};
  std::string hosts = fmt::format("127.0.0.1[{}],127.0.0.1[{}],127.0.0.1[{}]", base_port,
                                  base_port + 1, base_port + 2);
  for (int i = 0; i < 3; ++i) {
    Overrides o;
    o["COHORT_TCP_PORT"] = std::to_string(base_port + i);
    o["COHORT_INITIAL_HOSTS"] = hosts;
    o["COHORT_CLIENT_PORT"] = "0";
    o["COHORT_MEMBERS"] = "A,B,C";
    o["COHORT_RAFT_ID"] = ids[i];
    o["COHORT_LOG"] = log;
    o["COHORT_LOG_DIR"] = (fs::path(dir_) / ids[i]).string();
    StackConfig config = parse_config(embedded::raft_xml, "raft.xml (embedded)", o);
    auto stack = build_stack(config, std::make_shared<AsioRuntime>(i + 1, ids[i]));
    auto ch = std::make_unique<Channel>(std::move(stack));
    ch->set_name(ids[i]);
    if (before_connect) before_connect(*ch);
    channels_.push_back(std::move(ch));
  }
  std::vector<std::future<std::error_code>> connected;
  for (auto& ch : channels_) {
    auto p = std::make_shared<std::promise<std::error_code>>();
    connected.push_back(p->get_future());
    ch->connect("perf", [p](std::error_code ec) { p->set_value(ec); });
  }
  for (auto& f : connected)
    if (auto ec = f.get()) throw std::runtime_error("connect failed: " + ec.message());
}

PerfCluster::~PerfCluster() {
  close();
  channels_.clear();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void PerfCluster::close() {
  if (closed_) return;
  closed_ = true;
  for (auto& ch : channels_)
    ch->close();
}

int PerfCluster::wait_for_leader(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    for (size_t i = 0; i < channels_.size(); ++i) {
      raft::RaftStatus s;
      channels_[i]->invoke([&] {
        Event ev(raft::raft_event::status);
        s = std::any_cast<raft::RaftStatus>(channels_[i]->stack().down(ev));
      });
      if (s.role == raft::Role::leader && s.commit_in_term) return static_cast<int>(i);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return -1;
}

uint64_t PerfCluster::stat(size_t i, const std::string& protocol, const std::string& name) {
  uint64_t v = 0;
  Channel& ch = member(i);
  ch.invoke([&] {
    if (auto* p = ch.stack().find(protocol)) v = p->stat(name);
  });
  return v;
}

LatencySummary summarize(std::vector<uint32_t>& lat) {
  LatencySummary s;
  if (lat.empty()) return s;
  auto at = [&](double q) {
    size_t k = std::min(lat.size() - 1, static_cast<size_t>(q * static_cast<double>(lat.size())));
    std::nth_element(lat.begin(), lat.begin() + static_cast<ptrdiff_t>(k), lat.end());
    return static_cast<double>(lat[k]);
  };
  s.p50_us = at(0.50);
  s.p99_us = at(0.99);
  s.max_us = *std::max_element(lat.begin(), lat.end());
  return s;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  if (!(in >> a >> b >> c)) return {};
  return fmt::format("{:.2f} {:.2f} {:.2f}", a, b, c);
}

}  // namespace cohort::tools
