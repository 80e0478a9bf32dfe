#pragma once
// "Did you mean ...?" for unknown protocol and attribute names.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cohort {

/// Edit distance (insert, delete, substitute, swap of neighbours), ignoring ASCII case.
size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `name`, if it is close enough to be a likely typo: at most one edit
/// for short names, about a third of the length for longer ones. Ties go to the first candidate.
std::optional<std::string> closest_name(std::string_view name,
                                        const std::vector<std::string>& candidates);

}  // namespace cohort
