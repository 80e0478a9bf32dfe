#include "stack/units.hpp"

#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace cohort::units {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

// Splits "123unit" into the number and the unit.
bool split_number(std::string_view s, uint64_t& number, std::string_view& unit) {
  s = trim(s);
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), number);
  if (ec != std::errc() || p == s.data()) return false;
  unit = trim(std::string_view(p, s.data() + s.size() - p));
  return true;
}

bool mul_overflows(uint64_t a, uint64_t b) {
  return b != 0 && a > UINT64_MAX / b;
}

}  // namespace

std::optional<std::chrono::nanoseconds> parse_duration(std::string_view s) {
  uint64_t n;
  std::string_view unit;
  if (!split_number(s, n, unit)) return std::nullopt;
  uint64_t scale;
  if (unit.empty() || unit == "ms")
    scale = 1'000'000;
  else if (unit == "ns")
    scale = 1;
  else if (unit == "us")
    scale = 1'000;
  else if (unit == "s")
    scale = 1'000'000'000;
  else if (unit == "m" || unit == "min")
    scale = 60'000'000'000;
  else if (unit == "h")
    scale = 3'600'000'000'000;
  else
    return std::nullopt;
  if (mul_overflows(n, scale) || n * scale > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<int64_t>(n * scale));
}

std::optional<uint64_t> parse_size(std::string_view s) {
  uint64_t n;
  std::string_view unit;
  if (!split_number(s, n, unit)) return std::nullopt;
  uint64_t scale;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "KB" || unit == "kB" || unit == "K" || unit == "k")
    scale = 1000;
  else if (unit == "KiB")
    scale = 1024;
  else if (unit == "MB" || unit == "M")
    scale = 1000'000;
  else if (unit == "MiB")
    scale = 1u << 20;
  else if (unit == "GB" || unit == "G")
    scale = 1000'000'000;
  else if (unit == "GiB")
    scale = 1u << 30;
  else
    return std::nullopt;
  if (mul_overflows(n, scale)) return std::nullopt;
  return n * scale;
}

std::optional<int64_t> parse_int(std::string_view s) {
  s = trim(s);
  int64_t v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::optional<double> parse_double(std::string_view s) {
  s = trim(s);
  double v;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

std::optional<bool> parse_bool(std::string_view s) {
  s = trim(s);
  if (s == "true" || s == "1" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "0" || s == "no" || s == "off") return false;
  return std::nullopt;
}

std::string format_duration(std::chrono::nanoseconds d) {
  int64_t ns = d.count();
  if (ns == 0) return "0ms";
  if (ns % 60'000'000'000 == 0) return fmt::format("{}m", ns / 60'000'000'000);
  if (ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  return fmt::format("{}ns", ns);
}

std::string format_size(uint64_t b) {
  if (b == 0) return "0";
  if (b % (1u << 30) == 0) return fmt::format("{}GiB", b >> 30);
  if (b % 1000'000'000 == 0) return fmt::format("{}GB", b / 1000'000'000);
  if (b % (1u << 20) == 0) return fmt::format("{}MiB", b >> 20);
  if (b % 1000'000 == 0) return fmt::format("{}MB", b / 1000'000);
  if (b % 1024 == 0) return fmt::format("{}KiB", b >> 10);
  if (b % 1000 == 0) return fmt::format("{}KB", b / 1000);
  return fmt::format("{}", b);
}

}  // namespace cohort::units
