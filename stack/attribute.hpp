#pragma once
// Attribute: a protocol's configurable field, declared once with its name, type, default, unit
// and description, and bound from XML (config/) or set at run time. The setter parses text and
// returns an error message ("" when the value was accepted) so that config errors can name the
// file, line, protocol and attribute.
#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace cohort {

enum class AttributeType { boolean, integer, real, string, duration, size };

const char* to_string(AttributeType t);

struct Attribute {
  std::string name;
  AttributeType type = AttributeType::string;
  std::string default_value;  ///< the value at declaration, formatted
  std::string description;
  bool required = false;
  std::function<std::string(std::string_view)> set;  ///< "" on success, else what is wrong
  std::function<std::string()> get;                  ///< current value, formatted
};

}  // namespace cohort
