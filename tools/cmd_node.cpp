// `cohort node --config FILE --name NAME [--cluster C] [-D NAME=VALUE]...`: runs one member until
// SIGINT or SIGTERM and prints each view it sees as one line, `view [A, B, C] id=7` (a merge view,
// installed by GMS after MERGE healed a partition: `view [A, B, C] id=7 merge`), flushed at
// once so that scripts can follow. A bad configuration: its error line on stderr, exit 1. A join
// refused by the group (AUTH): `cannot join: <reason>` on stderr, exit 3.
// With `--http HOST:PORT` the member also serves the etcd v2 keys API (gateway/), printing
// `http HOST:PORT` once it listens.
// On SIGUSR1 it prints every protocol's counters, one line per protocol,
// `stats TCP connections_closed=2 malformed=1 ...`, then `stats end` (scripts and operators can
// see what was received, dropped or malformed without stopping the member).
// With --control it reads commands from stdin (tools/node_control.hpp), e.g. `discard B,C` to
// cut B and C off (a partition) and `discard none` to heal it.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/config_error.hpp"
#include "gateway/http_gateway.hpp"
#include "protocols/raft/client_protocol.hpp"
#include "stack/protocol_stack.hpp"
#include "tools/channel_factory.hpp"
#include "tools/commands.hpp"
#include "tools/node_control.hpp"
#include "tools/raft_services.hpp"

namespace cohort::tools {

namespace {

struct NodeOptions {
  std::string config;
  std::string name;
  std::string cluster = "cohort";
  std::vector<std::string> definitions;
  std::string http;  ///< HOST:PORT of the etcd v2 gateway; empty: none
  std::string http_read_mode = "linearizable";
  unsigned http_threads = 0;
  bool control = false;
};

/// `stats NAME counter=value ...` for each protocol with counters, then `stats end`.
std::string format_stats(const ProtocolStack& stack) {
  std::string out;
  for (const auto& p : stack.protocols()) {
    if (p->stats().empty()) continue;
    out += fmt::format("stats {}", p->name());
    for (const auto& [name, stat] : p->stats())
      out += fmt::format(" {}={}", name, stat.value);
    out += '\n';
  }
  return out + "stats end\n";
}

int run_node(const NodeOptions& o) {
  // Block the signals before any thread starts, so that every thread inherits the mask and only
  // sigwait() below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::unique_ptr<Channel> ch;
  try {
    Overrides overrides = parse_overrides(o.definitions);
    default_raft_overrides(overrides, o.name);
    ch = make_channel(o.config, overrides, o.name);
  } catch (const ConfigError& e) {
    std::cerr << e.what() << '\n';
    return 1;
  } catch (const std::invalid_argument& e) {  // a malformed -D
    std::cerr << e.what() << '\n';
    return 1;
  }
  // GMS announces a merge view (event::merge_view) right before its view_change; both arrive on
  // the channel's loop, so a plain flag carries the mark over.
  auto merge_next = std::make_shared<bool>(false);
  // A refused join (e.g. AUTH: wrong secret) ends the node with its reason and a non-zero exit,
  // rather than leaving a member without a view running.
  auto join_failed = std::make_shared<std::atomic<bool>>(false);
  ch->on_event([merge_next, join_failed](const Event& ev) {
    if (ev.type == event::merge_view) *merge_next = true;
    if (ev.type == event::join_failed) {
      std::fputs(fmt::format("cannot join: {}\n", ev.get<std::string>()).c_str(), stderr);
      std::fflush(stderr);
      *join_failed = true;
      kill(getpid(), SIGTERM);  // wakes sigwait() below (process-directed)
    }
  });
  ch->on_view([merge_next](const View& v) {
    std::string line = fmt::format("view {}{}\n", v.to_string(), *merge_next ? " merge" : "");
    *merge_next = false;
    std::fputs(line.c_str(), stdout);
    std::fflush(stdout);
  });
  gateway::GatewayOptions http;
  if (!o.http.empty()) {
    try {
      gateway::parse_listen_address(o.http, http);
      http.read_mode = gateway::parse_read_mode(o.http_read_mode);
      http.threads = o.http_threads;
    } catch (const std::invalid_argument& e) {
      std::cerr << e.what() << '\n';
      return 1;
    }
  }
  // With REPLICATION in the stack the member serves the blocks and reports leader changes.
  auto raft = attach_raft_services(*ch);
  if (!o.http.empty() && !raft) {
    std::cerr << "--http needs a stack with REPLICATION\n";
    return 1;
  }
  if (raft) {
    raft->handle->on_leader_change([](const raft::LeaderChanged& lc) {
      std::string line = lc.leader.empty() ? fmt::format("leader none term {}\n", lc.term)
                                           : fmt::format("leader {} term {}\n", lc.leader, lc.term);
      std::fputs(line.c_str(), stdout);
      std::fflush(stdout);
    });
  }
  try {
    ch->connect(o.cluster);
  } catch (const std::exception& e) {
    std::cerr << "cannot start: " << e.what() << '\n';
    return 1;
  }
  if (raft) {
    std::string error;
    uint16_t port = 0;
    ch->invoke([&] {
      Event ev(raft::raft_event::status);
      error = std::any_cast<raft::RaftStatus>(ch->stack().down(ev)).error;
      if (auto* c = dynamic_cast<raft::ClientProtocol*>(ch->stack().find("CLIENT")))
        port = c->client_port();
    });
    if (!error.empty()) {
      std::cerr << "cannot start: " << error << '\n';
      return 1;
    }
    if (port) std::fputs(fmt::format("client port {}\n", port).c_str(), stdout);
    std::fflush(stdout);
  }
  std::unique_ptr<gateway::HttpGateway> gw;
  if (!o.http.empty()) {
    try {
      gw = std::make_unique<gateway::HttpGateway>(*raft->handle, *raft->v2, http);
      gw->start();
    } catch (const std::exception& e) {
      std::cerr << "cannot start: " << e.what() << '\n';
      ch->close();
      return 1;
    }
    std::fputs(fmt::format("http {}:{}\n", http.host, gw->port()).c_str(), stdout);
    std::fflush(stdout);
  }
  std::optional<NodeControl> control;
  if (o.control) control.emplace(*ch);
  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGUSR1) {
    std::string lines;
    ch->invoke([&] { lines = format_stats(ch->stack()); });
    std::fputs(lines.c_str(), stdout);
    std::fflush(stdout);
  }
  control.reset();     // before close: a command may be waiting for the loop
  if (gw) gw->stop();  // no new requests; completions from the loop below still find it alive
  ch->close();
  gw.reset();
  return *join_failed ? 3 : 0;
}

}  // namespace

void add_node_command(CLI::App& app) {
  auto o = std::make_shared<NodeOptions>();
  auto* cmd = app.add_subcommand("node", "Run one member until SIGINT/SIGTERM, printing its views");
  cmd->add_option("--config", o->config, "The stack configuration (XML)")->required();
  cmd->add_option("--name", o->name, "The member's logical name")->required();
  cmd->add_option("--cluster", o->cluster, "The cluster to join")->capture_default_str();
  cmd->add_option("-D,--define", o->definitions,
                  "Define a variable for ${NAME} substitution (NAME=VALUE); may be repeated")
      ->type_name("NAME=VALUE")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  cmd->add_option("--http", o->http,
                  "Serve the etcd v2 keys API over HTTP on HOST:PORT (e.g. 127.0.0.1:2379)");
  cmd->add_option("--http-read-mode", o->http_read_mode,
                  "How plain GETs are served: linearizable, lease or stale (quorum=true is "
                  "always linearizable)")
      ->capture_default_str();
  cmd->add_option("--http-threads", o->http_threads,
                  "Threads of the HTTP server; 0: it shares the channel's loop thread")
      ->capture_default_str();
  cmd->add_flag("--control", o->control,
                "Read commands from stdin: discard NAME[,NAME...] | discard none | help");
  cmd->callback([o] { std::exit(run_node(*o)); });
}

}  // namespace cohort::tools
