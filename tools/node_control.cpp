#include "tools/node_control.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <set>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "protocols/discard.hpp"

namespace cohort::tools {

namespace {

// Longer lines are not commands: they are reported and skipped.
constexpr size_t max_line_bytes = 4096;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// "B, C" or "B,C" -> {B, C}; an empty name (",," or a trailing comma) is an error.
std::set<std::string> parse_names(std::string_view list) {
  std::set<std::string> names;
  while (true) {
    size_t comma = list.find(',');
    std::string_view name = trim(list.substr(0, comma));
    if (name.empty()) throw std::invalid_argument("discard: empty member name in the list");
    names.emplace(name);
    if (comma == std::string_view::npos) return names;
    list.remove_prefix(comma + 1);
  }
}

std::string discard(Channel& ch, std::string_view arg) {
  if (arg.empty()) throw std::invalid_argument("discard: expects NAME[,NAME...] or none");
  bool none = arg == "none";
  std::set<std::string> names;
  if (!none) names = parse_names(arg);
  std::string self = ch.address().name();
  if (names.count(self))
    throw std::invalid_argument(fmt::format("discard: {} is this member itself", self));
  ch.invoke([&] {
    ProtocolStack& stack = ch.stack();
    auto* d = stack.find<Discard>();
    if (!d && none) return;
    if (!d) {
      // Right above the transport, so that discovery and MERGE traffic is cut as well.
      auto fresh = std::make_unique<Discard>();
      d = fresh.get();
      stack.insert_above(std::move(fresh), stack.bottom()->name());
    }
    d->clear_members();
    for (auto& n : names)
      d->drop_member(n);
  });
  return none ? "discard none" : fmt::format("discard {}", fmt::join(names, ", "));
}

}  // namespace

std::string apply_node_command(Channel& ch, std::string_view line) {
  line = trim(line);
  size_t space = line.find(' ');
  std::string_view verb = line.substr(0, space);
  std::string_view arg = space == std::string_view::npos ? "" : trim(line.substr(space + 1));
  if (verb == "discard") return discard(ch, arg);
  if (verb == "help")
    return "commands: discard NAME[,NAME...] (drop all traffic from and to them) | discard none";
  throw std::invalid_argument(fmt::format("unknown command '{}' (try help)", verb));
}

NodeControl::NodeControl(Channel& ch) : ch_(ch) {
  if (pipe(wake_) != 0) throw std::system_error(errno, std::generic_category(), "pipe");
  reader_ = std::thread([this] { run(); });
}

NodeControl::~NodeControl() {
  char b = 0;
  [[maybe_unused]] ssize_t n = write(wake_[1], &b, 1);
  reader_.join();
  close(wake_[0]);
  close(wake_[1]);
}

void NodeControl::run() {
  auto handle = [this](std::string_view line) {
    if (trim(line).empty() || trim(line).front() == '#') return;
    try {
      std::string out = apply_node_command(ch_, line) + '\n';
      std::fputs(out.c_str(), stdout);
      std::fflush(stdout);
    } catch (const std::invalid_argument& e) {
      std::fputs(fmt::format("error: {}\n", e.what()).c_str(), stderr);
    }
  };
  std::string pending;
  bool skipping = false;  // inside a line longer than max_line_bytes
  char buf[4096];
  while (true) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {wake_[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    ssize_t n = read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) return;  // end of input: the member keeps running
    pending.append(buf, static_cast<size_t>(n));
    for (size_t nl; (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      if (!skipping) handle(std::string_view(pending).substr(0, nl));
      skipping = false;
    }
    if (pending.size() > max_line_bytes) {
      if (!skipping)
        std::fputs(fmt::format("error: a line longer than {} bytes\n", max_line_bytes).c_str(),
                   stderr);
      skipping = true;
      pending.clear();
    }
  }
}

}  // namespace cohort::tools
