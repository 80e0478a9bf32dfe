// `cohort counter`, `cohort lock`, `cohort kv`: shells over the building blocks of a running
// cluster, through RemoteClient on the members' CLIENT ports (jgroups-raft's demos, as tools).
// One-shot when given a command (exit code 1 on error), otherwise a prompt loop on stdin (a
// prompt is shown only on a terminal; piped scripts are read line by line, and the exit code
// is 1 if any line failed). Results and errors are printed plainly: `error: no_leader`.
#include <fmt/format.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "blocks/block_errors.hpp"
#include "blocks/counter.hpp"
#include "blocks/lock.hpp"
#include "blocks/map_client.hpp"
#include "blocks/remote_client.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/units.hpp"
#include "tools/commands.hpp"

namespace cohort::tools {

namespace {

struct ShellOptions {
  std::string connect;
  std::string timeout = "10s";
  bool interactive = false;
  std::vector<std::string> words;
};

using Words = std::vector<std::string>;

/// A failed command: printed as `error: <what>`.
struct ShellError {
  std::string what;
};

// Waits for a callback-style operation: call(callback) → (error, value).
template <class T, class Call>
T wait_for(Call call) {
  auto p = std::make_shared<std::promise<std::pair<std::error_code, T>>>();
  auto f = p->get_future();
  call([p](std::error_code ec, T v) { p->set_value({ec, std::move(v)}); });
  auto [ec, v] = f.get();
  if (ec) throw ShellError{error_name(ec)};
  return v;
}

void wait_done(const std::function<void(std::function<void(std::error_code)>)>& call) {
  wait_for<bool>([&](auto cb) { call([cb](std::error_code ec) { cb(ec, true); }); });
}

int64_t parse_int(const std::string& s) {
  auto v = units::parse_int(s);
  if (!v) throw ShellError{fmt::format("not a number: {}", s)};
  return *v;
}

// The connection and the typed blocks a shell uses. Members are destroyed in reverse order:
// locks, then the timers, then the client.
class Connection {
 public:
  Connection(const ShellOptions& o, const std::string& kind)
      : client_(split(o.connect), fmt::format("cohort-{}-{}", kind, ::getpid())) {
    auto t = units::parse_duration(o.timeout);
    if (!t) throw ShellError{fmt::format("bad --timeout: {}", o.timeout)};
    timeout_ = *t;
  }
  ~Connection() {
    locks_.clear();
    timers_.shutdown();
  }
  BlockClient& client() { return client_; }
  Runtime& timers() { return timers_; }
  Duration timeout() const { return timeout_; }
  Lock& lock(const std::string& name) {
    auto& l = locks_[name];
    if (!l) {
      LockOptions o;
      o.timeout = timeout_;
      l = std::make_unique<Lock>(client_, timers_, name, o);
    }
    return *l;
  }

 private:
  static std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> out;
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ','))
      if (!item.empty()) out.push_back(item);
    if (out.empty()) throw ShellError{"--connect needs HOST:PORT[,HOST:PORT...]"};
    return out;
  }

  RemoteClient client_;
  AsioRuntime timers_{0, "shell-timers"};
  Duration timeout_{};
  std::map<std::string, std::unique_ptr<Lock>> locks_;
};

void need(const Words& w, size_t lo, size_t hi, const char* usage) {
  if (w.size() < lo || w.size() > hi) throw ShellError{fmt::format("usage: {}", usage)};
}

// --- kv -------------------------------------------------------------------------------------

constexpr const char* kv_help =
    "commands:\n"
    "  put KEY VALUE         set; prints the previous value or (absent)\n"
    "  get KEY               prints the value or (absent) (linearizable read)\n"
    "  remove KEY            prints the removed value or (absent)\n"
    "  cas KEY OLD NEW       set NEW if the value is OLD (OLD '-' = absent); prints true/false\n"
    "  contains KEY          prints true/false\n"
    "  size                  prints the number of keys\n";

std::string show(const std::optional<std::string>& v) {
  return v ? *v : "(absent)";
}

std::string run_kv(Connection& c, const Words& w) {
  MapClient<std::string, std::string> m(c.client(), "map", c.timeout());
  using V = std::optional<std::string>;
  const std::string& op = w[0];
  if (op == "put") {
    need(w, 3, 3, "put KEY VALUE");
    return show(wait_for<V>([&](auto cb) { m.put(w[1], w[2], cb); }));
  }
  if (op == "get") {
    need(w, 2, 2, "get KEY");
    return show(wait_for<V>([&](auto cb) { m.get(w[1], cb); }));
  }
  if (op == "remove") {
    need(w, 2, 2, "remove KEY");
    return show(wait_for<V>([&](auto cb) { m.remove(w[1], cb); }));
  }
  if (op == "cas") {
    need(w, 4, 4, "cas KEY OLD NEW");
    V expected = w[2] == "-" ? V() : V(w[2]);
    bool ok = wait_for<bool>([&](auto cb) { m.compare_and_set(w[1], expected, w[3], cb); });
    return ok ? "true" : "false";
  }
  if (op == "contains") {
    need(w, 2, 2, "contains KEY");
    return wait_for<bool>([&](auto cb) { m.contains(w[1], cb); }) ? "true" : "false";
  }
  if (op == "size") {
    need(w, 1, 1, "size");
    return std::to_string(wait_for<uint64_t>([&](auto cb) { m.size(cb); }));
  }
  throw ShellError{fmt::format("unknown command: {} (try help)", op)};
}

// --- counter ----------------------------------------------------------------------------------

constexpr const char* counter_help =
    "commands:\n"
    "  get NAME              prints the value (linearizable read; never set = 0)\n"
    "  set NAME VALUE        sets it\n"
    "  incr NAME [N]         adds N (default 1); prints the new value\n"
    "  decr NAME [N]         subtracts N (default 1); prints the new value\n"
    "  cas NAME OLD NEW      sets NEW if the value is OLD; prints 'true VALUE' or 'false VALUE'\n";

std::string run_counter(Connection& c, const Words& w) {
  const std::string& op = w[0];
  if (op != "get" && op != "set" && op != "incr" && op != "decr" && op != "cas")
    throw ShellError{fmt::format("unknown command: {} (try help)", op)};
  if (w.size() < 2) throw ShellError{fmt::format("usage: {} NAME ...", op)};
  Counter ctr(c.client(), w[1], "counter", c.timeout());
  if (op == "get") {
    need(w, 2, 2, "get NAME");
    return std::to_string(wait_for<int64_t>([&](auto cb) { ctr.get(cb); }));
  }
  if (op == "set") {
    need(w, 3, 3, "set NAME VALUE");
    int64_t v = parse_int(w[2]);
    wait_done([&](auto cb) { ctr.set(v, cb); });
    return "ok";
  }
  if (op == "incr" || op == "decr") {
    need(w, 2, 3, "incr|decr NAME [N]");
    int64_t n = w.size() == 3 ? parse_int(w[2]) : 1;
    if (op == "decr") n = -n;
    return std::to_string(wait_for<int64_t>([&](auto cb) { ctr.add_and_get(n, cb); }));
  }
  if (op == "cas") {
    need(w, 4, 4, "cas NAME OLD NEW");
    int64_t expected = parse_int(w[2]), desired = parse_int(w[3]);
    auto o = wait_for<CasOutcome>([&](auto cb) { ctr.compare_and_set(expected, desired, cb); });
    return fmt::format("{} {}", o.swapped ? "true" : "false", o.value);
  }
  throw ShellError{fmt::format("unknown command: {} (try help)", op)};
}

// --- lock -------------------------------------------------------------------------------------

constexpr const char* lock_help =
    "commands:\n"
    "  lock NAME             waits for the lock; prints 'acquired NAME token T'\n"
    "  try-lock NAME [WAIT]  takes it if free (or within WAIT, e.g. 2s); prints\n"
    "                        'acquired NAME token T' or 'busy'\n"
    "  unlock NAME           releases it; error: not_holder if this shell does not hold it\n"
    "  held NAME             whether this shell still holds it (true/false)\n"
    "A lock belongs to this shell's client session. A one-shot `cohort lock ... lock L` exits\n"
    "holding the lock: it is released only when that session expires (session_timeout_ms of\n"
    "cluster time after the process exits, 30 s by default) — a later one-shot `unlock` is a\n"
    "different session and gets not_holder. Use the interactive shell to lock and unlock.\n"
    "Pass the token to the resource you protect: it must reject smaller tokens.\n";

std::string run_lock(Connection& c, const Words& w) {
  const std::string& op = w[0];
  if (op != "lock" && op != "try-lock" && op != "unlock" && op != "held")
    throw ShellError{fmt::format("unknown command: {} (try help)", op)};
  if (w.size() < 2) throw ShellError{fmt::format("usage: {} NAME ...", op)};
  Lock& l = c.lock(w[1]);
  using T = std::optional<uint64_t>;
  auto acquired = [&](uint64_t token) { return fmt::format("acquired {} token {}", w[1], token); };
  if (op == "lock") {
    need(w, 2, 2, "lock NAME");
    return acquired(wait_for<uint64_t>([&](auto cb) { l.lock(cb); }));
  }
  if (op == "try-lock") {
    need(w, 2, 3, "try-lock NAME [WAIT]");
    T t;
    if (w.size() == 3) {
      auto wait = units::parse_duration(w[2]);
      if (!wait) throw ShellError{fmt::format("bad duration: {}", w[2])};
      t = wait_for<T>([&](auto cb) { l.try_lock(*wait, cb); });
    } else {
      t = wait_for<T>([&](auto cb) { l.try_lock(cb); });
    }
    return t ? acquired(*t) : "busy";
  }
  if (op == "unlock") {
    need(w, 2, 2, "unlock NAME");
    wait_done([&](auto cb) { l.unlock(cb); });
    return fmt::format("unlocked {}", w[1]);
  }
  if (op == "held") {
    need(w, 2, 2, "held NAME");
    return wait_for<bool>([&](auto cb) { l.still_held(cb); }) ? "true" : "false";
  }
  throw ShellError{fmt::format("unknown command: {} (try help)", op)};
}

// --- the shell loop -------------------------------------------------------------------------

using Runner = std::string (*)(Connection&, const Words&);

// Runs one command; prints its result or `error: ...`; false on error.
bool execute(Connection& c, Runner run, const char* help, const Words& w) {
  if (w.empty()) return true;
  if (w[0] == "help") {
    fmt::print("{}", help);
    return true;
  }
  try {
    fmt::print("{}\n", run(c, w));
    std::fflush(stdout);
    return true;
  } catch (const ShellError& e) {
    fmt::print("error: {}\n", e.what);
    std::fflush(stdout);
    return false;
  }
}

int run_shell(const ShellOptions& o, const std::string& kind, Runner run, const char* help) {
  try {
    Connection c(o, kind);
    if (!o.words.empty() && !o.interactive) return execute(c, run, help, o.words) ? 0 : 1;
    const bool tty = ::isatty(STDIN_FILENO) != 0;
    if (tty)
      fmt::print("cohort {} shell on {} ('help' lists commands, 'quit' leaves)\n", kind, o.connect);
    bool failed = !o.words.empty() && !execute(c, run, help, o.words);
    std::string line;
    while (true) {
      if (tty) {
        fmt::print("{}> ", kind);
        std::fflush(stdout);
      }
      if (!std::getline(std::cin, line)) break;
      std::istringstream in(line);
      Words w;
      for (std::string s; in >> s;)
        w.push_back(s);
      if (!w.empty() && (w[0] == "quit" || w[0] == "exit")) break;
      if (!execute(c, run, help, w)) failed = true;
    }
    return (failed && !tty) ? 1 : 0;
  } catch (const ShellError& e) {
    fmt::print(stderr, "error: {}\n", e.what);
    return 1;
  }
}

void add_shell(CLI::App& app, const std::string& kind, const std::string& description, Runner run,
               const char* help) {
  auto o = std::make_shared<ShellOptions>();
  auto* cmd = app.add_subcommand(kind, description);
  cmd->footer(help);
  cmd->add_option("--connect", o->connect, "Members' CLIENT ports: HOST:PORT[,HOST:PORT...]")
      ->required();
  cmd->add_option("--timeout", o->timeout, "Per-operation deadline")->capture_default_str();
  cmd->add_flag("-i,--interactive", o->interactive,
                "Read commands from stdin even when a command is given (runs it first)");
  cmd->add_option("command", o->words, "One command to run, then exit (none: the shell)");
  cmd->callback([o, kind, run, help] { std::exit(run_shell(*o, kind, run, help)); });
}

}  // namespace

void add_shell_commands(CLI::App& app) {
  add_shell(app, "kv", "Replicated key-value map shell (the \"map\" service)", run_kv, kv_help);
  add_shell(app, "counter", "Replicated counters shell (the \"counter\" service)", run_counter,
            counter_help);
  add_shell(app, "lock", "Fenced locks shell (the \"lock\" service)", run_lock, lock_help);
}

}  // namespace cohort::tools
