// fuzz_config: the XML stack-configuration parser (config/stack_config.hpp) over arbitrary text,
// ${...} substitution included. It must return a StackConfig or throw ConfigError — nothing
// else, never a crash. A parsed configuration keeps its promises: at least one protocol, every
// line number within the text.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "config/stack_config.hpp"

using namespace cohort;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  try {
    Overrides overrides{{"FUZZ_A", "a"}, {"FUZZ_EMPTY", ""}};
    StackConfig c = parse_config(xml, "fuzz.xml", overrides);
    int last = line_of_offset(xml, size);
    if (c.protocols.empty()) std::abort();
    for (const auto& p : c.protocols) {
      if (p.line < 1 || p.line > last) std::abort();
      for (const auto& a : p.attributes)
        if (a.line < 1 || a.line > last || p.find(a.name) == nullptr) std::abort();
    }
  } catch (const ConfigError&) {
  }
  return 0;
}
