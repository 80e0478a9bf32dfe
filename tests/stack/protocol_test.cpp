// Protocol: declared attributes of every type (defaults, valid and invalid values, error
// strings), counters, and pass-through defaults.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "stack/protocol.hpp"

using namespace cohort;
using namespace std::chrono_literals;

namespace {

class AllTypes : public Protocol {
 public:
  AllTypes() : Protocol("ALL_TYPES") {
    declare("flag", flag, "a boolean");
    declare("count", count, "an int");
    declare("big", big, "an int64");
    declare("limit", limit, "a uint64");
    declare("ratio", ratio, "a double");
    declare("label", label, "a string", true);
    declare("timeout", timeout, "a duration");
    declare_size("max_size", max_size, "a size");
    sent_ = &counter("sent", "messages sent");
  }
  bool flag = true;
  int count = -3;
  int64_t big = 1ll << 40;
  uint64_t limit = 100;
  double ratio = 0.5;
  std::string label = "hello";
  std::chrono::nanoseconds timeout = 1500ms;
  uint64_t max_size = 65536;
  uint64_t* sent_;
  uint64_t& again() { return counter("sent", "ignored: the counter exists"); }
};

}  // namespace

TEST_CASE("protocol: attributes are declared with type, default and description") {
  AllTypes p;
  CHECK(p.name() == "ALL_TYPES");
  CHECK_FALSE(p.is_transport());
  auto& attrs = p.attributes();
  REQUIRE(attrs.size() == 8);
  struct Want {
    const char* name;
    AttributeType type;
    const char* def;
  };
  Want want[] = {{"flag", AttributeType::boolean, "true"},
                 {"count", AttributeType::integer, "-3"},
                 {"big", AttributeType::integer, "1099511627776"},
                 {"limit", AttributeType::integer, "100"},
                 {"ratio", AttributeType::real, "0.5"},
                 {"label", AttributeType::string, "hello"},
                 {"timeout", AttributeType::duration, "1500ms"},
                 {"max_size", AttributeType::size, "64KiB"}};
  for (size_t i = 0; i < attrs.size(); ++i) {
    CAPTURE(want[i].name);
    CHECK(attrs[i].name == want[i].name);
    CHECK(attrs[i].type == want[i].type);
    CHECK(attrs[i].default_value == want[i].def);
    CHECK(attrs[i].get() == want[i].def);
    CHECK_FALSE(attrs[i].description.empty());
    CHECK(attrs[i].required == (std::string(want[i].name) == "label"));
  }
  CHECK(std::string(to_string(AttributeType::duration)) == "duration");
  CHECK(std::string(to_string(AttributeType::size)) == "size");
  CHECK(std::string(to_string(AttributeType::boolean)) == "bool");
  CHECK(p.find_attribute("ratio") == &attrs[4]);
  CHECK(p.find_attribute("nope") == nullptr);
}

TEST_CASE("protocol: valid values are bound to the members, defaults stay recorded") {
  AllTypes p;
  CHECK(p.set_attribute("flag", "false") == "");
  CHECK(p.set_attribute("count", "-42") == "");
  CHECK(p.set_attribute("big", "-9223372036854775808") == "");
  CHECK(p.set_attribute("limit", "7") == "");
  CHECK(p.set_attribute("ratio", "0.125") == "");
  CHECK(p.set_attribute("label", "") == "");
  CHECK(p.set_attribute("timeout", "3s") == "");
  CHECK(p.set_attribute("max_size", "1MiB") == "");
  CHECK_FALSE(p.flag);
  CHECK(p.count == -42);
  CHECK(p.big == INT64_MIN);
  CHECK(p.limit == 7);
  CHECK(p.ratio == 0.125);
  CHECK(p.label.empty());
  CHECK(p.timeout == 3s);
  CHECK(p.max_size == 1u << 20);
  CHECK(p.find_attribute("timeout")->get() == "3s");
  CHECK(p.find_attribute("timeout")->default_value == "1500ms");
  CHECK(p.find_attribute("count")->get() == "-42");
  CHECK(p.find_attribute("max_size")->get() == "1MiB");

  CHECK(p.set_attribute("count", "2147483647") == "");
  CHECK(p.count == INT32_MAX);
  CHECK(p.set_attribute("count", "-2147483648") == "");
  CHECK(p.count == INT32_MIN);
}

TEST_CASE("protocol: invalid values are refused with a message and leave the member unchanged") {
  AllTypes p;
  CHECK(p.set_attribute("flag", "maybe") == "'maybe' is not a boolean (true/false)");
  CHECK(p.set_attribute("count", "x") == "'x' is not an integer");
  CHECK(p.set_attribute("count", "2147483648") == "2147483648 is out of range");
  CHECK(p.set_attribute("count", "-2147483649") == "-2147483649 is out of range");
  CHECK(p.set_attribute("limit", "-1") == "-1 is out of range");
  CHECK(p.set_attribute("big", "9223372036854775808") == "'9223372036854775808' is not an integer");
  CHECK(p.set_attribute("ratio", "half") == "'half' is not a number");
  CHECK(p.set_attribute("timeout", "3 parsecs") ==
        "'3 parsecs' is not a duration (e.g. 500ms, 3s, 1m)");
  CHECK(p.set_attribute("max_size", "lots") == "'lots' is not a size (e.g. 1500, 64KB, 1MiB)");
  CHECK(p.set_attribute("nope", "1") == "unknown attribute");
  CHECK(p.flag);
  CHECK(p.count == -3);
  CHECK(p.limit == 100);
  CHECK(p.big == 1ll << 40);
  CHECK(p.ratio == 0.5);
  CHECK(p.timeout == 1500ms);
  CHECK(p.max_size == 65536);
}

TEST_CASE("protocol: counters are declared once and read by name") {
  AllTypes p;
  CHECK(p.stat("sent") == 0);
  *p.sent_ += 3;
  CHECK(p.stat("sent") == 3);
  CHECK(&p.again() == p.sent_);  // same name, same counter
  CHECK(p.stats().at("sent").description == "messages sent");
  CHECK(p.stat("missing") == 0);
  CHECK(p.stats().size() == 1);
}

TEST_CASE("protocol: an unlinked protocol has no neighbours") {
  AllTypes p;
  CHECK(p.up_protocol() == nullptr);
  CHECK(p.down_protocol() == nullptr);
  Event ev(event::find_members);
  CHECK_FALSE(p.down(ev).has_value());  // events stop quietly at the ends
  CHECK_FALSE(p.up(ev).has_value());
}

TEST_CASE("event: typed argument access") {
  Event e(event::connect, std::string("cluster"));
  CHECK(e.type == event::connect);
  CHECK(e.get<std::string>() == "cluster");
  CHECK_THROWS_AS(e.get<int>(), std::bad_any_cast);
  Event none(event::disconnect);
  CHECK_FALSE(none.arg.has_value());
}
