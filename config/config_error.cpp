#include "config/config_error.hpp"

namespace cohort {

namespace {
std::string format_error(const std::string& file, int line, const std::string& protocol,
                         const std::string& attribute, const std::string& message) {
  std::string out = file;
  if (line > 0) out += ':' + std::to_string(line);
  out += ": ";
  if (!protocol.empty()) {
    out += protocol;
    if (!attribute.empty()) out += '.' + attribute;
    out += ": ";
  }
  out += message;
  // One line, always: a multi-line message (from a protocol's init, say) is folded.
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return out;
}
}  // namespace

ConfigError::ConfigError(std::string file, int line, std::string protocol, std::string attribute,
                         std::string message)
    : std::runtime_error(format_error(file, line, protocol, attribute, message)),
      file_(std::move(file)),
      line_(line),
      protocol_(std::move(protocol)),
      attribute_(std::move(attribute)),
      message_(std::move(message)) {}

}  // namespace cohort
