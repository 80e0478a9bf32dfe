#include "stack/protocol_registry.hpp"

namespace cohort {

ProtocolRegistry& ProtocolRegistry::instance() {
  static ProtocolRegistry r;
  return r;
}

void ProtocolRegistry::add(const std::string& name, Factory factory) {
  factories_[name] = std::move(factory);
}

std::unique_ptr<Protocol> ProtocolRegistry::create(const std::string& name) const {
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : it->second();
}

bool ProtocolRegistry::contains(const std::string& name) const {
  return factories_.count(name);
}

std::vector<std::string> ProtocolRegistry::names() const {
  std::vector<std::string> out;
  for (auto& [n, _] : factories_)
    out.push_back(n);
  return out;
}

}  // namespace cohort
