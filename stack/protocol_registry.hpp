#pragma once
// ProtocolRegistry: XML element name → factory, like JGroups' ClassConfigurator for protocols.
// Built-in protocols are registered by register_builtin_protocols() (protocols/ and discovery/)
// rather than by static initialisers, which a static library would silently drop.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "stack/protocol.hpp"

namespace cohort {

class ProtocolRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Protocol>()>;
  static ProtocolRegistry& instance();

  void add(const std::string& name, Factory factory);
  /// nullptr when unknown.
  std::unique_ptr<Protocol> create(const std::string& name) const;
  bool contains(const std::string& name) const;
  std::vector<std::string> names() const;

 private:
  std::map<std::string, Factory> factories_;
};

template <typename T>
void register_protocol(const std::string& name) {
  ProtocolRegistry::instance().add(name, [] { return std::make_unique<T>(); });
}

}  // namespace cohort
