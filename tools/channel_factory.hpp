#pragma once
// Shared by the `cohort` sub-commands that run a member: a Channel from a stack configuration.
#include <memory>
#include <string>

#include "config/substitution.hpp"
#include "stack/channel.hpp"

namespace cohort::tools {

/// Registers every protocol the command line knows (built-in and discovery). Idempotent.
void register_all_protocols();

/// Loads `config_path` (with `-D` overrides), builds and initialises its stack on a fresh
/// AsioRuntime, and returns an unconnected Channel named `name`. Throws ConfigError with one line
/// naming file, line, protocol and attribute.
std::unique_ptr<Channel> make_channel(const std::string& config_path, const Overrides& overrides,
                                      const std::string& name);

}  // namespace cohort::tools
