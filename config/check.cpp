#include "config/check.hpp"

#include "config/null_runtime.hpp"
#include "config/stack_builder.hpp"

namespace cohort {

int check_config(const std::string& path, const std::vector<std::string>& definitions,
                 std::ostream& out, std::ostream& err, const ProtocolRegistry& registry) {
  try {
    Overrides overrides = parse_overrides(definitions);
    StackConfig config = load_config_file(path, overrides);
    auto stack = build_stack(config, std::make_shared<NullRuntime>(), registry);
    out << stack->describe();
    return 0;
  } catch (const ConfigError& e) {
    err << e.what() << '\n';
  } catch (const std::exception& e) {
    // A bad -D, or an operating error from a protocol's init(); still one line.
    std::string line = path + ": " + e.what();
    for (char& c : line)
      if (c == '\n') c = ' ';
    err << line << '\n';
  }
  return 1;
}

}  // namespace cohort
