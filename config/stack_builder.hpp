#pragma once
// build_stack(): StackConfig → an initialised ProtocolStack, or one ConfigError line that names
// file, line, protocol and attribute, before anything starts (DESIGN.md §5).
#include <memory>

#include "config/config_error.hpp"
#include "config/stack_config.hpp"
#include "stack/protocol_registry.hpp"
#include "stack/protocol_stack.hpp"
#include "stack/runtime.hpp"

namespace cohort {

/// Creates each protocol through `registry` (bottom first), binds its attributes, checks required
/// attributes and the order (one transport, at the bottom), then calls stack->init(). The
/// returned stack is initialised but not started.
///
/// Throws ConfigError, with these messages (after "FILE:LINE: PROTOCOL[.attribute]: "):
///   unknown protocol (did you mean LOOPBACK?)          | (known protocols: A, B, C)
///   unknown attribute (did you mean timeout?)          | (attributes of P: a, b) | (P has none)
///   <the setter's message>, e.g. 'x' is not a duration (e.g. 500ms, 3s, 1m)
///   missing required attribute (<its description>)
///   required attribute is empty
///   not a transport: the bottom of the stack (the first protocol in <config>) must be one
///   a transport must be at the bottom of the stack (the first protocol in <config>), ...
///   <the message of a std::invalid_argument thrown by a protocol's init()>
/// A protocol's init() names the attribute by starting its message with "attribute: " (or
/// "PROTOCOL.attribute: "); the error then points at that attribute's line, or at the protocol's
/// line when the attribute was left at its default. If several protocols declare an attribute of
/// that name, the lowest one is named (ProtocolStack::init does not say which protocol threw). A
/// message naming no attribute of the stack is reported as "FILE: <message>".
/// Exceptions other than std::invalid_argument from init() (operating errors) propagate.
std::unique_ptr<ProtocolStack> build_stack(
    const StackConfig& config, std::shared_ptr<Runtime> runtime,
    const ProtocolRegistry& registry = ProtocolRegistry::instance());

}  // namespace cohort
