#include "stack/protocol.hpp"

#include <fmt/format.h>

#include <limits>
#include <type_traits>

#include "stack/protocol_stack.hpp"
#include "stack/units.hpp"

namespace cohort {

const char* to_string(AttributeType t) {
  switch (t) {
    case AttributeType::boolean:
      return "bool";
    case AttributeType::integer:
      return "integer";
    case AttributeType::real:
      return "number";
    case AttributeType::string:
      return "string";
    case AttributeType::duration:
      return "duration";
    case AttributeType::size:
      return "size";
  }
  return "?";
}

Runtime& Protocol::runtime() const {
  return stack_->runtime();
}

Attribute* Protocol::find_attribute(std::string_view name) {
  for (auto& a : attributes_)
    if (a.name == name) return &a;
  return nullptr;
}

std::string Protocol::set_attribute(std::string_view name, std::string_view value) {
  Attribute* a = find_attribute(name);
  if (!a) return "unknown attribute";
  return a->set(value);
}

uint64_t Protocol::stat(std::string_view name) const {
  auto it = stats_.find(name);
  return it == stats_.end() ? 0 : it->second.value;
}

void Protocol::add_attribute(Attribute a) {
  a.default_value = a.get();
  attributes_.push_back(std::move(a));
}

void Protocol::declare(std::string name, bool& ref, std::string description) {
  add_attribute({std::move(name),
                 AttributeType::boolean,
                 {},
                 std::move(description),
                 false,
                 [&ref](std::string_view v) -> std::string {
                   auto b = units::parse_bool(v);
                   if (!b) return fmt::format("'{}' is not a boolean (true/false)", v);
                   ref = *b;
                   return {};
                 },
                 [&ref] { return std::string(ref ? "true" : "false"); }});
}

namespace {
template <typename T>
Attribute integer_attribute(std::string name, T& ref, std::string description) {
  return {std::move(name),
          AttributeType::integer,
          {},
          std::move(description),
          false,
          [&ref](std::string_view v) -> std::string {
            auto i = units::parse_int(v);
            if (!i) return fmt::format("'{}' is not an integer", v);
            // Compare in the signed domain for signed T: casting a negative value to uint64_t
            // would make every negative number "out of range".
            bool in_range;
            if constexpr (std::is_signed_v<T>)
              in_range = *i >= static_cast<int64_t>(std::numeric_limits<T>::min()) &&
                         *i <= static_cast<int64_t>(std::numeric_limits<T>::max());
            else
              in_range = *i >= 0 && static_cast<uint64_t>(*i) <= std::numeric_limits<T>::max();
            if (!in_range) return fmt::format("{} is out of range", *i);
            ref = static_cast<T>(*i);
            return {};
          },
          [&ref] { return fmt::format("{}", ref); }};
}
}  // namespace

void Protocol::declare(std::string name, int& ref, std::string description) {
  add_attribute(integer_attribute(std::move(name), ref, std::move(description)));
}
void Protocol::declare(std::string name, int64_t& ref, std::string description) {
  add_attribute(integer_attribute(std::move(name), ref, std::move(description)));
}
void Protocol::declare(std::string name, uint64_t& ref, std::string description) {
  add_attribute(integer_attribute(std::move(name), ref, std::move(description)));
}

void Protocol::declare(std::string name, double& ref, std::string description) {
  add_attribute({std::move(name),
                 AttributeType::real,
                 {},
                 std::move(description),
                 false,
                 [&ref](std::string_view v) -> std::string {
                   auto d = units::parse_double(v);
                   if (!d) return fmt::format("'{}' is not a number", v);
                   ref = *d;
                   return {};
                 },
                 [&ref] { return fmt::format("{}", ref); }});
}

void Protocol::declare(std::string name, std::string& ref, std::string description, bool required) {
  add_attribute({std::move(name),
                 AttributeType::string,
                 {},
                 std::move(description),
                 required,
                 [&ref](std::string_view v) -> std::string {
                   ref = std::string(v);
                   return {};
                 },
                 [&ref] { return ref; }});
}

void Protocol::declare(std::string name, std::chrono::nanoseconds& ref, std::string description) {
  add_attribute({std::move(name),
                 AttributeType::duration,
                 {},
                 std::move(description),
                 false,
                 [&ref](std::string_view v) -> std::string {
                   auto d = units::parse_duration(v);
                   if (!d) return fmt::format("'{}' is not a duration (e.g. 500ms, 3s, 1m)", v);
                   ref = *d;
                   return {};
                 },
                 [&ref] { return units::format_duration(ref); }});
}

void Protocol::declare_size(std::string name, uint64_t& ref, std::string description) {
  add_attribute({std::move(name),
                 AttributeType::size,
                 {},
                 std::move(description),
                 false,
                 [&ref](std::string_view v) -> std::string {
                   auto s = units::parse_size(v);
                   if (!s) return fmt::format("'{}' is not a size (e.g. 1500, 64KB, 1MiB)", v);
                   ref = *s;
                   return {};
                 },
                 [&ref] { return units::format_size(ref); }});
}

uint64_t& Protocol::counter(std::string name, std::string description) {
  auto [it, _] = stats_.try_emplace(std::move(name), Stat{0, std::move(description)});
  return it->second.value;
}

}  // namespace cohort
