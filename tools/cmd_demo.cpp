// `cohort demo`: the README's main job.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <condition_variable>
#include <mutex>

#include "protocols/loopback.hpp"
#include "stack/asio_runtime.hpp"
#include "stack/channel.hpp"
#include "tools/commands.hpp"

namespace cohort::tools {

namespace {

std::unique_ptr<Channel> loopback_channel(const std::string& name) {
  auto stack = std::make_unique<ProtocolStack>(std::make_shared<AsioRuntime>(0, name));
  stack->add(std::make_unique<Loopback>());
  stack->init();
  auto ch = std::make_unique<Channel>(std::move(stack));
  ch->set_name(name);
  return ch;
}

// Two channels over LOOPBACK exchanging messages: the foundation's demo, until the Raft demo
// replaces it.
int run_loopback_demo() {
  std::mutex mu;
  std::condition_variable cv;
  int received = 0;
  auto a = loopback_channel("A");
  auto b = loopback_channel("B");
  for (auto* ch : {a.get(), b.get()}) {
    ch->on_view(
        [ch](const View& v) { fmt::print("{}: view {}\n", ch->address().name(), v.to_string()); });
    ch->on_message([&, ch](Message& m) {
      fmt::print("{}: from {}: {}\n", ch->address().name(), m.src().to_string(),
                 m.payload().view());
      std::lock_guard lock(mu);
      ++received;
      cv.notify_all();
    });
  }
  a->connect("demo");
  b->connect("demo");
  for (int i = 0; i < 3; ++i) {
    a->send(Message(b->address(), Buffer::copy_of(fmt::format("hello B #{}", i))));
    b->send(Message(Address(), Buffer::copy_of(fmt::format("hello everyone #{}", i))));
  }
  std::unique_lock lock(mu);
  bool ok = cv.wait_for(lock, std::chrono::seconds(5), [&] { return received == 9; });
  lock.unlock();
  b->close();
  a->close();
  fmt::print("{} messages delivered\n", received);
  return ok ? 0 : 1;
}

}  // namespace

void add_demo_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("demo", "Run the demo: a local cluster on an embedded default");
  cmd->callback([] { std::exit(run_loopback_demo()); });
}

}  // namespace cohort::tools
