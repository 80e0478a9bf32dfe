// units: durations and sizes with every unit, bad inputs rejected, format round trips.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "stack/units.hpp"

using namespace cohort;
using namespace std::chrono_literals;
using std::chrono::nanoseconds;

TEST_CASE("units: durations with every unit, a bare number is milliseconds") {
  CHECK(units::parse_duration("250ns") == nanoseconds(250));
  CHECK(units::parse_duration("250us") == 250us);
  CHECK(units::parse_duration("500ms") == 500ms);
  CHECK(units::parse_duration("500") == 500ms);
  CHECK(units::parse_duration("3s") == 3s);
  CHECK(units::parse_duration("2m") == 2min);
  CHECK(units::parse_duration("2min") == 2min);
  CHECK(units::parse_duration("1h") == 1h);
  CHECK(units::parse_duration("0") == 0ms);
  CHECK(units::parse_duration(" 3s ") == 3s);
  CHECK(units::parse_duration("3 s") == 3s);
}

TEST_CASE("units: bad durations are rejected") {
  for (const char* bad : {"", " ", "ms", "s3", "-1s", "+1s", "1.5s", "3 sec", "3S", "3d", "10xs",
                          "1e3ms", "99999999999999999999", "9999999999h", "0x10ms"}) {
    CAPTURE(bad);
    CHECK_FALSE(units::parse_duration(bad).has_value());
  }
  // The largest that fits int64 nanoseconds, and one past it.
  CHECK(units::parse_duration("9223372036854775807ns") == nanoseconds(INT64_MAX));
  CHECK_FALSE(units::parse_duration("9223372036854775808ns").has_value());
}

TEST_CASE("units: sizes with every unit, a bare number is bytes") {
  CHECK(units::parse_size("1500") == 1500u);
  CHECK(units::parse_size("1500B") == 1500u);
  CHECK(units::parse_size("64KB") == 64'000u);
  CHECK(units::parse_size("64kB") == 64'000u);
  CHECK(units::parse_size("64K") == 64'000u);
  CHECK(units::parse_size("64k") == 64'000u);
  CHECK(units::parse_size("64KiB") == 65'536u);
  CHECK(units::parse_size("2MB") == 2'000'000u);
  CHECK(units::parse_size("2M") == 2'000'000u);
  CHECK(units::parse_size("2MiB") == 2u << 20);
  CHECK(units::parse_size("3GB") == 3'000'000'000u);
  CHECK(units::parse_size("3G") == 3'000'000'000u);
  CHECK(units::parse_size("3GiB") == 3ull << 30);
  CHECK(units::parse_size("0") == 0u);
  CHECK(units::parse_size(" 8 KiB ") == 8192u);
  CHECK(units::parse_size("18446744073709551615") == UINT64_MAX);
}

TEST_CASE("units: bad sizes are rejected") {
  for (const char* bad : {"", "KB", "-1", "-1KB", "1.5MB", "1TB", "1kib", "1 bytes", "12x",
                          "18446744073709551616", "20000000000GiB", "18446744073709552KB"}) {
    CAPTURE(bad);
    CHECK_FALSE(units::parse_size(bad).has_value());
  }
}

TEST_CASE("units: integers, reals and booleans") {
  CHECK(units::parse_int("42") == 42);
  CHECK(units::parse_int("-7") == -7);
  CHECK(units::parse_int(" 5 ") == 5);
  CHECK(units::parse_int("-9223372036854775808") == INT64_MIN);
  for (const char* bad : {"", "5x", "x5", "1.0", "9223372036854775808", "--1"}) {
    CAPTURE(bad);
    CHECK_FALSE(units::parse_int(bad).has_value());
  }
  CHECK(units::parse_double("1.5") == 1.5);
  CHECK(units::parse_double("-0.25") == -0.25);
  CHECK(units::parse_double("1e3") == 1000.0);
  for (const char* bad : {"", "nan", "inf", "-inf", "1.5x", "1e999"}) {
    CAPTURE(bad);
    CHECK_FALSE(units::parse_double(bad).has_value());
  }
  for (const char* t : {"true", "1", "yes", "on", " true "})
    CHECK(units::parse_bool(t) == true);
  for (const char* f : {"false", "0", "no", "off"})
    CHECK(units::parse_bool(f) == false);
  for (const char* bad : {"", "TRUE", "2", "y", "truex"}) {
    CAPTURE(bad);
    CHECK_FALSE(units::parse_bool(bad).has_value());
  }
}

TEST_CASE("units: format_duration picks the shortest exact unit") {
  CHECK(units::format_duration(0ns) == "0ms");
  CHECK(units::format_duration(1500ms) == "1500ms");
  CHECK(units::format_duration(3s) == "3s");
  CHECK(units::format_duration(2min) == "2m");
  CHECK(units::format_duration(1h) == "60m");
  CHECK(units::format_duration(250us) == "250us");
  CHECK(units::format_duration(nanoseconds(1001)) == "1001ns");
}

TEST_CASE("units: format_size picks the shortest exact unit") {
  CHECK(units::format_size(0) == "0");
  CHECK(units::format_size(1500) == "1500");
  CHECK(units::format_size(65'536) == "64KiB");
  CHECK(units::format_size(64'000) == "64KB");
  CHECK(units::format_size(1u << 20) == "1MiB");
  CHECK(units::format_size(5'000'000) == "5MB");
  CHECK(units::format_size(1ull << 30) == "1GiB");
  CHECK(units::format_size(7'000'000'000) == "7GB");
  CHECK(units::format_size(1023) == "1023");
}

TEST_CASE("units: format and parse round trip") {
  for (nanoseconds d :
       {nanoseconds(0), nanoseconds(1), nanoseconds(999), nanoseconds(1000), nanoseconds(250us),
        nanoseconds(1ms), nanoseconds(1500ms), nanoseconds(59s), nanoseconds(60s), nanoseconds(90s),
        nanoseconds(3h), nanoseconds(INT64_MAX)}) {
    CAPTURE(d.count());
    CHECK(units::parse_duration(units::format_duration(d)) == d);
  }
  for (uint64_t s : {uint64_t{0}, uint64_t{1}, uint64_t{1000}, uint64_t{1024}, uint64_t{1500},
                     uint64_t{65536}, uint64_t{1000000}, uint64_t{1} << 20, uint64_t{3} << 30,
                     uint64_t{5'000'000'000}, UINT64_MAX, uint64_t{1} << 63}) {
    CAPTURE(s);
    CHECK(units::parse_size(units::format_size(s)) == s);
  }
}
