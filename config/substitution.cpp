#include "config/substitution.hpp"

#include <cstdlib>

namespace cohort {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

/// Resolves the inside of one ${...}: "A,B:default".
std::string resolve(std::string_view ref, const VariableLookup& lookup) {
  std::optional<std::string_view> fallback;
  std::string_view names = ref;
  if (auto colon = ref.find(':'); colon != std::string_view::npos) {
    names = ref.substr(0, colon);
    fallback = ref.substr(colon + 1);
  }
  std::vector<std::string> tried;
  while (true) {
    auto comma = names.find(',');
    std::string name(trim(names.substr(0, comma)));
    if (name.empty()) throw SubstitutionError("empty variable name in ${" + std::string(ref) + "}");
    if (auto value = lookup(name)) return *value;
    tried.push_back(std::move(name));
    if (comma == std::string_view::npos) break;
    names.remove_prefix(comma + 1);
  }
  if (fallback) return std::string(*fallback);
  if (tried.size() == 1)
    throw SubstitutionError("unresolved variable ${" + std::string(ref) + "}: " + tried[0] +
                            " is not defined (use -D " + tried[0] + "=VALUE or the environment)");
  std::string listed;
  for (auto& n : tried)
    listed += (listed.empty() ? "" : ", ") + n;
  throw SubstitutionError("unresolved variable ${" + std::string(ref) + "}: none of " + listed +
                          " is defined (use -D NAME=VALUE or the environment)");
}

}  // namespace

VariableLookup make_lookup(const Overrides& overrides) {
  return [&overrides](const std::string& name) -> std::optional<std::string> {
    if (auto it = overrides.find(name); it != overrides.end()) return it->second;
    if (const char* env = std::getenv(name.c_str())) return std::string(env);
    return std::nullopt;
  };
}

std::string substitute(std::string_view text, const VariableLookup& lookup) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    auto start = text.find("${", pos);
    if (start == std::string_view::npos) break;
    auto end = text.find('}', start + 2);
    if (end == std::string_view::npos)
      throw SubstitutionError("unterminated ${ in '" + std::string(text) + "' (missing '}')");
    out.append(text.substr(pos, start - pos));
    out += resolve(text.substr(start + 2, end - start - 2), lookup);
    pos = end + 1;
  }
  out.append(text.substr(pos));
  return out;
}

Overrides parse_overrides(const std::vector<std::string>& definitions) {
  Overrides out;
  for (auto& d : definitions) {
    auto eq = d.find('=');
    if (eq == std::string::npos)
      throw std::invalid_argument("-D " + d + ": expected NAME=VALUE (missing '=')");
    if (eq == 0) throw std::invalid_argument("-D " + d + ": expected NAME=VALUE (empty NAME)");
    out[d.substr(0, eq)] = d.substr(eq + 1);
  }
  return out;
}

}  // namespace cohort
