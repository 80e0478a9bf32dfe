#include <doctest/doctest.h>

#include "config/stack_config.hpp"
#include "config_test_util.hpp"

using namespace cohort;
using cohort::test::config_error_of;

TEST_CASE("parse_config: JGroups shape with bottom first and lines of elements and attributes") {
  const char* xml =
      "<?xml version=\"1.0\"?>\n"                                          // 1
      "<config xmlns=\"urn:org:jgroups\"\n"                                // 2
      "        xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"\n"  // 3
      "        xsi:schemaLocation=\"urn:org:jgroups jgroups.xsd\">\n"      // 4
      "  <!-- the transport -->\n"                                         // 5
      "  <TCP bind_addr=\"127.0.0.1\"\n"                                   // 6
      "       bind_port=\"7800\"/>\n"                                      // 7
      "  <FD_ALL timeout=\"3s\" interval=\"500ms\"/>\n"                    // 8
      "  <GMS/>\n"                                                         // 9
      "</config>\n";
  StackConfig c = parse_config(xml, "stack.xml");
  CHECK(c.file == "stack.xml");
  REQUIRE(c.protocols.size() == 3);
  CHECK(c.protocols[0].name == "TCP");
  CHECK(c.protocols[0].line == 6);
  REQUIRE(c.protocols[0].attributes.size() == 2);
  CHECK(c.protocols[0].attributes[0].name == "bind_addr");
  CHECK(c.protocols[0].attributes[0].value == "127.0.0.1");
  CHECK(c.protocols[0].attributes[0].line == 6);
  CHECK(c.protocols[0].attributes[1].name == "bind_port");
  CHECK(c.protocols[0].attributes[1].line == 7);
  CHECK(c.protocols[1].name == "FD_ALL");
  CHECK(c.protocols[1].line == 8);
  CHECK(c.protocols[1].find("interval")->value == "500ms");
  CHECK(c.protocols[1].find("nope") == nullptr);
  CHECK(c.protocols[2].name == "GMS");
  CHECK(c.protocols[2].line == 9);
  CHECK(c.protocols[2].attributes.empty());
}

TEST_CASE("parse_config: XML escapes and CRLF line ends keep values and lines right") {
  const char* xml = "<config>\r\n<A x=\"a&amp;b\"\r\n y=\"&lt;\"/>\r\n<B/>\r\n</config>";
  StackConfig c = parse_config(xml, "f.xml");
  REQUIRE(c.protocols.size() == 2);
  CHECK(c.protocols[0].find("x")->value == "a&b");
  CHECK(c.protocols[0].find("y")->value == "<");
  CHECK(c.protocols[0].find("y")->line == 3);
  CHECK(c.protocols[1].line == 4);
}

TEST_CASE("parse_config: substitution from -D overrides") {
  const char* xml =
      "<config>\n"
      "  <TCP bind_addr=\"${COHORT_TEST_BIND:127.0.0.1}\" bind_port=\"${PORT}\"/>\n"
      "</config>";
  StackConfig c = parse_config(xml, "f.xml", {{"PORT", "7900"}});
  CHECK(c.protocols[0].find("bind_addr")->value == "127.0.0.1");
  CHECK(c.protocols[0].find("bind_port")->value == "7900");
}

TEST_CASE(
    "parse_config error: unresolved variable names file and line and protocol and attribute") {
  const char* xml =
      "<config>\n"
      "  <TCP/>\n"
      "  <REPLICATION members=\"A,B,C\"\n"
      "               raft_id=\"${COHORT_TEST_UNSET_RAFT_ID}\"/>\n"
      "</config>";
  CHECK(config_error_of([&] { parse_config(xml, "raft.xml"); }) ==
        "raft.xml:4: REPLICATION.raft_id: unresolved variable ${COHORT_TEST_UNSET_RAFT_ID}: "
        "COHORT_TEST_UNSET_RAFT_ID is not defined (use -D COHORT_TEST_UNSET_RAFT_ID=VALUE or the "
        "environment)");
}

TEST_CASE("parse_config error: malformed XML gives pugixml's description and the line") {
  CHECK(config_error_of([] { parse_config("<config>\n  <TCP>\n</config>\n", "bad.xml"); }) ==
        "bad.xml:3: malformed XML: Start-end tags mismatch");
  CHECK(config_error_of([] { parse_config("<config>\n<TCP port=7800/>\n</config>", "b.xml"); }) ==
        "b.xml:2: malformed XML: Error parsing element attribute");
  CHECK(config_error_of([] { parse_config("<config>\n<TCP/>\n", "c.xml"); }) ==
        "c.xml:2: malformed XML: Start-end tags mismatch");
}

TEST_CASE("parse_config error: empty config") {
  CHECK(config_error_of([] { parse_config("", "e.xml"); }) ==
        "e.xml:1: empty config: no <config> element");
  CHECK(config_error_of([] { parse_config("<!-- nothing -->\n\n", "e.xml"); }) ==
        "e.xml:3: empty config: no <config> element");
  CHECK(config_error_of([] { parse_config("\n<config>\n</config>\n", "e.xml"); }) ==
        "e.xml:2: empty config: <config> has no protocols (list them bottom first, the transport "
        "at the bottom)");
  CHECK(config_error_of([] {
          parse_config("<config/>", "e.xml");
        }).starts_with("e.xml:1: empty config: <config> has no protocols"));
}

TEST_CASE("parse_config error: wrong shape") {
  CHECK(config_error_of([] { parse_config("<stack>\n<TCP/></stack>", "s.xml"); }) ==
        "s.xml:1: the root element must be <config>, not <stack>");
  CHECK(config_error_of([] { parse_config("<config><TCP/></config>\n<config/>", "s.xml"); }) ==
        "s.xml:2: unexpected second root element <config> (only one <config> is allowed)");
  CHECK(config_error_of([] { parse_config("<config name=\"x\"><TCP/></config>", "s.xml"); }) ==
        "s.xml:1: unexpected attribute 'name' on <config> (protocols are configured on their own "
        "elements)");
  CHECK(config_error_of([] { parse_config("<config>\n<TCP/> hello </config>", "s.xml"); }) ==
        "s.xml:2: unexpected text inside <config> (expected protocol elements)");
  CHECK(config_error_of(
            [] { parse_config("<config>\n<TCP>\n  <property/>\n</TCP></config>", "s.xml"); }) ==
        "s.xml:3: TCP: unexpected element <property> (protocols are configured with "
        "attributes only)");
  CHECK(config_error_of([] { parse_config("<config>\n<TCP>text</TCP></config>", "s.xml"); }) ==
        "s.xml:2: TCP: unexpected text (protocols are configured with attributes only)");
}

TEST_CASE("parse_config error: a protocol or an attribute given twice") {
  CHECK(config_error_of([] {
          parse_config("<config>\n<TCP/>\n<GMS/>\n<TCP/></config>", "d.xml");
        }) == "d.xml:4: TCP: protocol given twice (first at line 2)");
  CHECK(config_error_of([] {
          parse_config("<config>\n<TCP bind_port=\"1\"\n bind_port=\"2\"/></config>", "d.xml");
        }) == "d.xml:3: TCP.bind_port: attribute given twice (first at line 2)");
}

TEST_CASE("load_config_file error: file not found") {
  CHECK(config_error_of([] { load_config_file("/nonexistent/cohort/stack.xml"); }) ==
        "/nonexistent/cohort/stack.xml: cannot read: No such file or directory");
  CHECK(config_error_of([] { load_config_file("/tmp"); }) == "/tmp: cannot read: is a directory");
}

TEST_CASE("load_config_file: reads the file and names it in errors") {
  cohort::test::TempFile ok("ok.xml", "<config>\n  <TCP bind_port=\"${P:1}\"/>\n</config>\n");
  StackConfig c = load_config_file(ok.path(), {{"P", "2"}});
  CHECK(c.file == ok.path());
  CHECK(c.protocols[0].find("bind_port")->value == "2");
  cohort::test::TempFile bad("bad.xml", "<config>\n\n  <TCP\n</config>\n");
  CHECK(config_error_of([&] { load_config_file(bad.path()); }).starts_with(bad.path() + ":4: "));
}

TEST_CASE("line_of_offset") {
  CHECK(line_of_offset("", 0) == 1);
  CHECK(line_of_offset("a\nb\nc", 0) == 1);
  CHECK(line_of_offset("a\nb\nc", 2) == 2);
  CHECK(line_of_offset("a\nb\nc", 4) == 3);
  CHECK(line_of_offset("a\nb\nc", 99) == 3);
}
