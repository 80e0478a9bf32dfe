#pragma once
// ConfigError: everything that is wrong with a stack configuration, as one line that names the
// place (DESIGN.md §5):
//
//   FILE:LINE: PROTOCOL.attribute: what is wrong     (an attribute is involved)
//   FILE:LINE: PROTOCOL: what is wrong               (a protocol, no attribute)
//   FILE:LINE: what is wrong                         (malformed XML, empty config)
//   FILE: what is wrong                              (no line: e.g. the file cannot be read)
//
// what() is exactly that line (no newline); the parts are also available separately.
#include <stdexcept>
#include <string>

namespace cohort {

class ConfigError : public std::runtime_error {
 public:
  /// line 0 = no line; empty protocol/attribute = not involved.
  ConfigError(std::string file, int line, std::string protocol, std::string attribute,
              std::string message);

  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& protocol() const { return protocol_; }
  const std::string& attribute() const { return attribute_; }
  /// What is wrong, without the location prefix.
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_;
  std::string protocol_;
  std::string attribute_;
  std::string message_;
};

}  // namespace cohort
