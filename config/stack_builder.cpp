#include "config/stack_builder.hpp"

#include <cctype>
#include <optional>

#include "config/suggest.hpp"

namespace cohort {

namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (auto& n : names)
    out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::unique_ptr<Protocol> create_protocol(const StackConfig& config, const ProtocolConfig& pc,
                                          const ProtocolRegistry& registry) {
  if (auto p = registry.create(pc.name)) return p;
  auto known = registry.names();
  std::string hint;
  if (auto close = closest_name(pc.name, known))
    hint = " (did you mean " + *close + "?)";
  else if (!known.empty())
    hint = " (known protocols: " + join(known) + ")";
  throw ConfigError(config.file, pc.line, pc.name, "", "unknown protocol" + hint);
}

void bind_attributes(const StackConfig& config, const ProtocolConfig& pc, Protocol& p) {
  for (auto& ac : pc.attributes) {
    Attribute* a = p.find_attribute(ac.name);
    if (!a) {
      std::vector<std::string> names;
      for (auto& declared : p.attributes())
        names.push_back(declared.name);
      std::string hint;
      if (auto close = closest_name(ac.name, names))
        hint = " (did you mean " + *close + "?)";
      else if (names.empty())
        hint = " (" + pc.name + " has no attributes)";
      else
        hint = " (attributes of " + pc.name + ": " + join(names) + ")";
      throw ConfigError(config.file, ac.line, pc.name, ac.name, "unknown attribute" + hint);
    }
    if (std::string error = a->set(ac.value); !error.empty())
      throw ConfigError(config.file, ac.line, pc.name, ac.name, error);
  }
  for (auto& declared : p.attributes()) {
    if (!declared.required) continue;
    const AttributeConfig* given = pc.find(declared.name);
    if (!given)
      throw ConfigError(
          config.file, pc.line, pc.name, declared.name,
          "missing required attribute" +
              (declared.description.empty() ? "" : " (" + declared.description + ")"));
    if (given->value.empty())
      throw ConfigError(config.file, given->line, pc.name, declared.name,
                        "required attribute is empty");
  }
}

/// The same rules as ProtocolStack::init, checked here first so that the error has a line.
void check_order(const StackConfig& config, const std::vector<std::unique_ptr<Protocol>>& ps) {
  for (size_t i = 1; i < ps.size(); ++i)
    if (ps[i]->is_transport())
      throw ConfigError(config.file, config.protocols[i].line, ps[i]->name(), "",
                        "a transport must be at the bottom of the stack (the first protocol in "
                        "<config>), but it is above " +
                            ps[0]->name());
  if (!ps.empty() && !ps[0]->is_transport())
    throw ConfigError(config.file, config.protocols[0].line, ps[0]->name(), "",
                      "not a transport: the bottom of the stack (the first protocol in <config>) "
                      "must be a transport such as UDP, TCP or LOOPBACK");
}

/// Maps a std::invalid_argument from ProtocolStack::init to the protocol and attribute it names.
[[noreturn]] void rethrow_init_error(const StackConfig& config, const ProtocolStack& stack,
                                     const std::string& message) {
  // "attribute: what" or "PROTOCOL.attribute: what"
  auto colon = message.find(": ");
  std::string subject = colon == std::string::npos ? "" : message.substr(0, colon);
  std::string protocol_name, attribute = subject;
  if (auto dot = subject.find('.'); dot != std::string::npos) {
    protocol_name = subject.substr(0, dot);
    attribute = subject.substr(dot + 1);
  }
  const auto& ps = stack.protocols();
  for (size_t i = 0; i < ps.size() && !subject.empty(); ++i) {
    if (!protocol_name.empty() && ps[i]->name() != protocol_name) continue;
    bool declared = false;
    for (auto& a : ps[i]->attributes())
      declared = declared || a.name == attribute;
    if (!declared) continue;
    const ProtocolConfig& pc = config.protocols[i];
    const AttributeConfig* given = pc.find(attribute);
    throw ConfigError(config.file, given ? given->line : pc.line, pc.name, attribute,
                      message.substr(colon + 2));
  }
  // "PROTOCOL: what" from a protocol that names itself without an attribute.
  for (size_t i = 0; i < ps.size() && !subject.empty(); ++i)
    if (ps[i]->name() == subject)
      throw ConfigError(config.file, config.protocols[i].line, subject, "",
                        message.substr(colon + 2));
  throw ConfigError(config.file, 0, "", "", message);
}

}  // namespace

std::unique_ptr<ProtocolStack> build_stack(const StackConfig& config,
                                           std::shared_ptr<Runtime> runtime,
                                           const ProtocolRegistry& registry) {
  if (config.protocols.empty())
    throw ConfigError(config.file, 0, "", "", "empty config: <config> has no protocols");
  std::vector<std::unique_ptr<Protocol>> protocols;
  for (auto& pc : config.protocols) {
    protocols.push_back(create_protocol(config, pc, registry));
    bind_attributes(config, pc, *protocols.back());
  }
  check_order(config, protocols);

  auto stack = std::make_unique<ProtocolStack>(std::move(runtime));
  for (auto& p : protocols)
    stack->add(std::move(p));
  try {
    stack->init();
  } catch (const std::invalid_argument& e) {
    rethrow_init_error(config, *stack, e.what());
  }
  return stack;
}

}  // namespace cohort
