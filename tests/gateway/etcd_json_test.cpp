// The JSON shapes of etcd 3.4's v2 API (as Go's encoding/json writes etcd's structs).
#include <doctest/doctest.h>

#include "gateway/etcd_json.hpp"

using namespace cohort;
using namespace cohort::gateway;

TEST_CASE("etcd json: set event with prevNode") {
  v2::Event e;
  e.action = v2::Action::set;
  e.node.key = "/foo";
  e.node.value = "bar";
  e.node.modified_index = 8;
  e.node.created_index = 8;
  e.prev_node = v2::Node{"/foo", "old", false, 0, 7, 7, {}};
  std::string out;
  append_event(out, e, 0);
  CHECK(out ==
        R"({"action":"set","node":{"key":"/foo","value":"bar","modifiedIndex":8,"createdIndex":8},)"
        R"("prevNode":{"key":"/foo","value":"old","modifiedIndex":7,"createdIndex":7}})"
        "\n");
  out.clear();
  append_event(out, e, 0, true);
  CHECK(out == "{\"action\":\"set\"}\n");
}

TEST_CASE("etcd json: directory listing root and empty values") {
  v2::Event e;
  e.action = v2::Action::get;
  e.node.dir = true;  // the root: no key, no indexes
  v2::Node child{"/d", std::nullopt, true, 0, 3, 3, {}};
  v2::Node file{"/f", std::string(""), false, 0, 4, 4, {}};
  e.node.nodes = {child, file};
  std::string out;
  append_event(out, e, 0);
  CHECK(out == R"({"action":"get","node":{"dir":true,"nodes":[)"
               R"({"key":"/d","dir":true,"modifiedIndex":3,"createdIndex":3},)"
               R"({"key":"/f","value":"","modifiedIndex":4,"createdIndex":4}]}})"
               "\n");
}

TEST_CASE("etcd json: ttl and expiration relative to cluster time") {
  v2::Event e;
  e.action = v2::Action::set;
  e.now_ms = 10'000;
  e.node = v2::Node{"/t", std::string("v"), false, 14'500, 5, 5, {}};
  std::string out;
  append_event(out, e, 1'700'000'000'000);  // 2023-11-14T22:13:20Z
  CHECK(out == R"({"action":"set","node":{"key":"/t","value":"v",)"
               R"("expiration":"2023-11-14T22:13:24.5Z","ttl":5,"modifiedIndex":5,)"
               R"("createdIndex":5}})"
               "\n");
}

TEST_CASE("etcd json: errors and string escapes") {
  std::string out;
  append_error(out, v2::Error{v2::Errc::key_not_found, "/nope", 12});
  CHECK(out ==
        "{\"errorCode\":100,\"message\":\"Key not found\",\"cause\":\"/nope\",\"index\":12}\n");
  out.clear();
  append_json_string(out, "a\"b\\c\n<&>\x01");
  CHECK(out == R"("a\"b\\c\n\u003c\u0026\u003e\u0001")");
  CHECK(rfc3339(0) == "1970-01-01T00:00:00Z");
}
