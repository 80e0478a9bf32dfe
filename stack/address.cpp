#include "stack/address.hpp"

#include <fmt/format.h>

namespace cohort {

std::string Address::uuid_string() const {
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi_ >> 32, (hi_ >> 16) & 0xffff,
                     hi_ & 0xffff, lo_ >> 48, lo_ & 0xffffffffffffull);
}

std::string Address::to_string() const {
  if (!name_.empty()) return name_;
  if (is_null()) return "null";
  return uuid_string().substr(0, 8);
}

}  // namespace cohort
