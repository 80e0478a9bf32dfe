#include "tools/channel_factory.hpp"

#include "config/stack_builder.hpp"
#include "discovery/register.hpp"
#include "protocols/builtin.hpp"
#include "stack/asio_runtime.hpp"

namespace cohort::tools {

void register_all_protocols() {
  register_builtin_protocols();
  register_discovery_protocols();
}

std::unique_ptr<Channel> make_channel(const std::string& config_path, const Overrides& overrides,
                                      const std::string& name) {
  register_all_protocols();
  StackConfig config = load_config_file(config_path, overrides);
  auto stack = build_stack(config, std::make_shared<AsioRuntime>(0, name));
  auto ch = std::make_unique<Channel>(std::move(stack));
  ch->set_name(name);
  return ch;
}

}  // namespace cohort::tools
