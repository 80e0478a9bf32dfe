#include <doctest/doctest.h>

#include "config/suggest.hpp"

using namespace cohort;

TEST_CASE("edit_distance: insert and delete and substitute and swap ignoring case") {
  CHECK(edit_distance("", "") == 0);
  CHECK(edit_distance("abc", "") == 3);
  CHECK(edit_distance("FD_ALL", "FD_AL") == 1);
  CHECK(edit_distance("timeout", "tiemout") == 1);  // swap of neighbours
  CHECK(edit_distance("TCP", "UDP") == 2);
  CHECK(edit_distance("loopback", "LOOPBACK") == 0);
}

TEST_CASE("closest_name: only likely typos") {
  std::vector<std::string> protocols{"FD_ALL", "GMS", "TCP", "TCPPING", "UDP", "LOOPBACK"};
  CHECK(closest_name("FD_AL", protocols) == "FD_ALL");
  CHECK(closest_name("TCPPIGN", protocols) == "TCPPING");
  CHECK(closest_name("LOOPBAK", protocols) == "LOOPBACK");
  CHECK(closest_name("TCP", protocols) == "TCP");
  CHECK(closest_name("GNS", protocols) == "GMS");
  CHECK_FALSE(closest_name("PBCAST", protocols).has_value());
  CHECK_FALSE(closest_name("XY", protocols).has_value());
  CHECK_FALSE(closest_name("x", {}).has_value());
}
