#pragma once
// check_config(): what `cohort check FILE.xml [-D NAME=VALUE]...` does, as a library function so
// that it can be tested without a process.
#include <ostream>
#include <string>
#include <vector>

#include "stack/protocol_registry.hpp"

namespace cohort {

/// Loads `path` with the -D `definitions` ("NAME=VALUE"), builds the stack on a NullRuntime
/// without starting it, and prints ProtocolStack::describe() to `out`: one line per protocol,
/// bottom to top, with every effective attribute value. Returns 0. On any error prints exactly
/// one line to `err` (a ConfigError's what(), a bad -D, or another exception's message prefixed
/// with the file name) and returns 1.
int check_config(const std::string& path, const std::vector<std::string>& definitions,
                 std::ostream& out, std::ostream& err,
                 const ProtocolRegistry& registry = ProtocolRegistry::instance());

}  // namespace cohort
