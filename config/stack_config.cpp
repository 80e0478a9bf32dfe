#include "config/stack_config.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <pugixml.hpp>
#include <sstream>

namespace cohort {

const AttributeConfig* ProtocolConfig::find(std::string_view attribute) const {
  for (auto& a : attributes)
    if (a.name == attribute) return &a;
  return nullptr;
}

int line_of_offset(std::string_view text, size_t offset) {
  if (offset > text.size()) offset = text.size();
  int line = 1;
  for (size_t i = 0; i < offset; ++i)
    if (text[i] == '\n') ++line;
  return line;
}

namespace {

/// Parses in place so that the names pugixml returns point into `buffer_`, which gives every
/// element and attribute its byte offset, hence its line.
class Parser {
 public:
  Parser(std::string_view xml, const std::string& file, const Overrides& overrides)
      : buffer_(xml), file_(file), lookup_(make_lookup(overrides)) {}

  StackConfig parse() {
    // pugixml may write into the buffer (escapes, end-of-line normalisation) but only shifts
    // characters towards the start of each value, so names keep their original offsets.
    std::string original = buffer_;
    auto result = doc_.load_buffer_inplace(buffer_.data(), buffer_.size(), pugi::parse_default,
                                           pugi::encoding_utf8);
    text_ = std::move(original);
    if (result.status == pugi::status_no_document_element)
      throw ConfigError(file_, line_of_offset(text_, text_.size()), "", "",
                        "empty config: no <config> element");
    if (!result)
      throw ConfigError(file_, line_of_offset(text_, static_cast<size_t>(result.offset)), "", "",
                        std::string("malformed XML: ") + result.description());

    pugi::xml_node root;
    for (auto node : doc_.children()) {
      if (node.type() != pugi::node_element) {
        if (node.type() == pugi::node_pcdata || node.type() == pugi::node_cdata)
          throw ConfigError(file_, line(node), "", "", "unexpected text outside <config>");
        continue;
      }
      if (root)
        throw ConfigError(file_, line(node), "", "",
                          std::string("unexpected second root element <") + node.name() +
                              "> (only one <config> is allowed)");
      root = node;
    }
    if (std::string_view(root.name()) != "config")
      throw ConfigError(
          file_, line(root), "", "",
          std::string("the root element must be <config>, not <") + root.name() + ">");
    for (auto a : root.attributes()) {
      std::string_view name = a.name();
      if (name.starts_with("xmlns") || name.find(':') != std::string_view::npos) continue;
      throw ConfigError(file_, line(a, root), "", "",
                        "unexpected attribute '" + std::string(name) +
                            "' on <config> (protocols are configured on their own elements)");
    }

    StackConfig config;
    config.file = file_;
    for (auto node : root.children()) {
      if (node.type() == pugi::node_pcdata || node.type() == pugi::node_cdata)
        throw ConfigError(file_, line(node), "", "",
                          "unexpected text inside <config> (expected protocol elements)");
      if (node.type() != pugi::node_element) continue;
      config.protocols.push_back(protocol(node, config));
    }
    if (config.protocols.empty())
      throw ConfigError(file_, line(root), "", "",
                        "empty config: <config> has no protocols (list them bottom first, the "
                        "transport at the bottom)");
    return config;
  }

 private:
  ProtocolConfig protocol(pugi::xml_node node, const StackConfig& so_far) {
    ProtocolConfig p;
    p.name = node.name();
    p.line = line(node);
    for (auto& earlier : so_far.protocols)
      if (earlier.name == p.name)
        throw ConfigError(
            file_, p.line, p.name, "",
            "protocol given twice (first at line " + std::to_string(earlier.line) + ")");
    for (auto child : node.children()) {
      if (child.type() == pugi::node_element)
        throw ConfigError(file_, line(child), p.name, "",
                          std::string("unexpected element <") + child.name() +
                              "> (protocols are configured with attributes only)");
      if (child.type() == pugi::node_pcdata || child.type() == pugi::node_cdata)
        throw ConfigError(file_, line(child), p.name, "",
                          "unexpected text (protocols are configured with attributes only)");
    }
    for (auto a : node.attributes()) {
      AttributeConfig ac{a.name(), {}, line(a, node)};
      if (auto* earlier = p.find(ac.name))
        throw ConfigError(
            file_, ac.line, p.name, ac.name,
            "attribute given twice (first at line " + std::to_string(earlier->line) + ")");
      try {
        ac.value = substitute(a.value(), lookup_);
      } catch (const SubstitutionError& e) {
        throw ConfigError(file_, ac.line, p.name, ac.name, e.what());
      }
      p.attributes.push_back(std::move(ac));
    }
    return p;
  }

  int line(pugi::xml_node node) const {
    return line_of_offset(text_, static_cast<size_t>(node.offset_debug()));
  }
  /// The attribute's own line when its name points into the buffer, else its element's line.
  int line(pugi::xml_attribute a, pugi::xml_node owner) const {
    const char* name = a.name();
    if (name >= buffer_.data() && name < buffer_.data() + buffer_.size())
      return line_of_offset(text_, static_cast<size_t>(name - buffer_.data()));
    return line(owner);
  }

  std::string buffer_;  // parsed in place; must outlive doc_'s use
  std::string text_;    // the unmodified text, for line numbers
  const std::string& file_;
  VariableLookup lookup_;
  pugi::xml_document doc_;
};

}  // namespace

StackConfig parse_config(std::string_view xml, const std::string& file_name_for_errors,
                         const Overrides& overrides) {
  return Parser(xml, file_name_for_errors, overrides).parse();
}

StackConfig load_config_file(const std::string& path, const Overrides& overrides) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw ConfigError(path, 0, "", "", "cannot read: is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path, 0, "", "", std::string("cannot read: ") + std::strerror(errno));
  std::ostringstream content;
  content << in.rdbuf();
  if (in.bad()) throw ConfigError(path, 0, "", "", "cannot read: I/O error");
  return parse_config(content.str(), path, overrides);
}

}  // namespace cohort
