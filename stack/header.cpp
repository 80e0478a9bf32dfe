#include "stack/header.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace cohort {

namespace {
std::mutex registry_mutex;
}

HeaderRegistry& HeaderRegistry::instance() {
  static HeaderRegistry r;
  return r;
}

void HeaderRegistry::add(uint16_t id, const char* protocol_name, HeaderDecoder decoder) {
  std::lock_guard lock(registry_mutex);
  if (id >= std::size(slots_)) {
    std::fprintf(stderr, "header id %u out of range\n", id);
    std::abort();
  }
  Slot& s = slots_[id];
  if (s.name && std::strcmp(s.name, protocol_name) != 0) {
    std::fprintf(stderr, "header id %u registered twice: %s and %s\n", id, s.name, protocol_name);
    std::abort();
  }
  s.name = protocol_name;
  s.decoder = decoder;
}

HeaderDecoder HeaderRegistry::decoder(uint16_t id) const {
  return id < std::size(slots_) ? slots_[id].decoder : nullptr;
}

const char* HeaderRegistry::name(uint16_t id) const {
  return id < std::size(slots_) && slots_[id].name ? slots_[id].name : "?";
}

}  // namespace cohort
