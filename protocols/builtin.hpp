#pragma once
namespace cohort {
/// Registers every protocol of protocols/ (and discovery/ when linked) with ProtocolRegistry.
/// Idempotent; call once before loading a stack from XML.
void register_builtin_protocols();
}  // namespace cohort
