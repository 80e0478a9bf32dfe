#pragma once
// Variable substitution in attribute values, as in JGroups:
//
//   ${NAME}            the value of NAME; an error if NAME is not defined
//   ${NAME:default}    the value of NAME, else `default` (which may be empty or contain ':')
//   ${A,B:default}     the first defined of A, B, else `default`
//
// A variable is looked up in the -D overrides first, then in the environment. Text around and
// between references is kept ("${HOST:localhost}:${PORT:7800}"). There is no nesting and no
// escape; a `$` not followed by `{` is literal.
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace cohort {

/// `-D NAME=VALUE` definitions.
using Overrides = std::map<std::string, std::string>;

/// Returns the value of a variable, or nullopt when it is not defined.
using VariableLookup = std::function<std::optional<std::string>(const std::string& name)>;

/// Thrown by substitute(); the message says what is wrong without a location (the caller adds
/// it): "unresolved variable ${NAME}: NAME is not defined (use -D NAME=VALUE or the environment)",
/// "unterminated ${ (missing '}')", "empty variable name in ${...}".
class SubstitutionError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

/// Overrides first, then the process environment (getenv).
VariableLookup make_lookup(const Overrides& overrides);

/// Replaces every ${...} reference in `text`. Throws SubstitutionError.
std::string substitute(std::string_view text, const VariableLookup& lookup);

/// Turns "NAME=VALUE" strings (the -D arguments) into a map; VALUE may be empty and may contain
/// '='; a later definition of the same NAME wins. Throws std::invalid_argument naming the bad
/// argument when it has no '=' or an empty NAME.
Overrides parse_overrides(const std::vector<std::string>& definitions);

}  // namespace cohort
