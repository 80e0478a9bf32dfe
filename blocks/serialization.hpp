#pragma once
// Boost.Serialization for user-level values (DESIGN.md §4): keys and values of
// ReplicatedMap<K, V>, user commands, snapshots of the generic blocks. Binary archives without
// the archive header (every member runs the same build), so equal values give equal bytes.
//
// from_bytes never throws: input that does not deserialise (truncated, garbage) gives nullopt,
// and a string length or collection size beyond the input is refused before any allocation
// (bounded_iarchive). Trailing bytes are an error too.
#include <boost/archive/binary_oarchive.hpp>
#include <exception>
#include <optional>
#include <span>
#include <sstream>
#include <string>

#include "blocks/bounded_iarchive.hpp"
#include "stack/buffer.hpp"

namespace cohort {

/// Serialises any Boost.Serialization-able value.
template <class T>
std::string to_bytes(const T& value) {
  std::ostringstream os(std::ios::binary);
  {
    boost::archive::binary_oarchive ar(os, boost::archive::no_header);
    ar << value;
  }
  return std::move(os).str();
}

/// Deserialises a value written by to_bytes; nullopt if the bytes are not exactly one T.
template <class T>
std::optional<T> from_bytes(std::span<const uint8_t> bytes) {
  try {
    std::istringstream is(std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()),
                          std::ios::binary);
    T value{};
    {
      bounded_iarchive ar(*is.rdbuf(), bytes.size(), boost::archive::no_header);
      ar >> value;
    }
    if (is.peek() != std::char_traits<char>::eof()) return std::nullopt;
    return value;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace cohort
