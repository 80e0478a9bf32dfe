#pragma once
// The control input of `cohort node`: one command per line on stdin, applied to the running
// member on its channel's loop. It lets scripts (and people) change a running stack, e.g. cut a
// member off from others to make a partition and heal it again:
//
//   discard B,C     drop every message from and to B and C (inserts DISCARD right above the
//                   transport if the stack has none, so discovery traffic is cut too)
//   discard none    drop nothing any more
//   help            list the commands
//
// Each applied command prints one line on stdout (`discard B, C`, `discard none`); a bad command
// prints `error: ...` on stderr and changes nothing. End of input only ends the control input.
#include <memory>
#include <string>
#include <string_view>
#include <thread>

#include "stack/channel.hpp"

namespace cohort::tools {

/// Applies one command line to `ch` (from any thread but the loop: it waits for the loop).
/// Returns the line to print; throws std::invalid_argument naming what is wrong.
std::string apply_node_command(Channel& ch, std::string_view line);

/// Reads stdin line by line on its own thread and applies each command; stops on destruction.
class NodeControl {
 public:
  explicit NodeControl(Channel& ch);
  ~NodeControl();
  NodeControl(const NodeControl&) = delete;
  NodeControl& operator=(const NodeControl&) = delete;

 private:
  void run();
  Channel& ch_;
  int wake_[2] = {-1, -1};  // a pipe: the destructor writes to it to end run()'s poll()
  std::thread reader_;
};

}  // namespace cohort::tools
