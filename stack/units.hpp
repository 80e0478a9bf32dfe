#pragma once
// Parsing of attribute values with units: durations ("500ms", "3s", "2m", "250us"; a bare number
// is milliseconds, as in JGroups) and sizes ("64KB" = 64,000, "64KiB" = 65,536, "1MB", "1MiB",
// "1GB", "1GiB"; a bare number is bytes).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cohort::units {

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view s);
std::optional<uint64_t> parse_size(std::string_view s);
std::optional<int64_t> parse_int(std::string_view s);
std::optional<double> parse_double(std::string_view s);
std::optional<bool> parse_bool(std::string_view s);

/// Shortest exact form: "1500ms", "3s", "2m", "250us".
std::string format_duration(std::chrono::nanoseconds d);
/// Shortest exact form: "65536" → "64KiB", "64000" → "64KB".
std::string format_size(uint64_t bytes);

}  // namespace cohort::units
