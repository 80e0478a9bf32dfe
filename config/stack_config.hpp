#pragma once
// StackConfig: a stack configuration read from XML, before any protocol exists (DESIGN.md §5).
//
// The JGroups shape: a <config> root (xmlns* and prefixed attributes such as xsi:schemaLocation
// are allowed and ignored), one child element per protocol, bottom of the stack first; the
// element name is the protocol name and its attributes are the protocol's attributes. Attribute
// values have ${NAME:default} references substituted (config/substitution.hpp) at parse time,
// so a StackConfig holds final values. Every protocol and attribute keeps its source line so
// that build_stack() can report errors as FILE:LINE.
//
// Parsing checks only the XML shape; whether protocols and attributes exist and values are valid
// is checked by build_stack() (config/stack_builder.hpp), which needs the protocol registry.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "config/config_error.hpp"
#include "config/substitution.hpp"

namespace cohort {

struct AttributeConfig {
  std::string name;
  std::string value;  ///< after ${...} substitution
  int line = 0;       ///< 1-based line of the attribute name in the file
};

struct ProtocolConfig {
  std::string name;                         ///< the XML element name, e.g. "FD_ALL"
  int line = 0;                             ///< 1-based line of the element
  std::vector<AttributeConfig> attributes;  ///< in document order, names unique

  /// nullptr when the attribute is not set in the file.
  const AttributeConfig* find(std::string_view attribute) const;
};

struct StackConfig {
  std::string file;                       ///< the file name used in error messages
  std::vector<ProtocolConfig> protocols;  ///< bottom first; never empty after a successful parse
};

/// Parses a configuration held in memory. `file_name_for_errors` is only used to name the source
/// in errors. Throws ConfigError on malformed XML ("FILE:LINE: <pugixml's description>"), a root
/// that is not <config>, an empty <config>, text or nested elements inside the stack, an
/// attribute given twice, a protocol given twice, or a ${...} reference that cannot be resolved.
StackConfig parse_config(std::string_view xml, const std::string& file_name_for_errors,
                         const Overrides& overrides = {});

/// Reads `path` and parses it (errors name `path`). Throws ConfigError("PATH: cannot read: ...")
/// when the file cannot be read.
StackConfig load_config_file(const std::string& path, const Overrides& overrides = {});

/// 1-based line of byte `offset` in `text` (offsets past the end count as the last line).
int line_of_offset(std::string_view text, size_t offset);

}  // namespace cohort
