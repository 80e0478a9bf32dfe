// parse_key_request: etcd 3.4's mapping of HTTP requests to v2 store operations, and the
// error codes of bad parameters.
#include <doctest/doctest.h>

#include "gateway/etcd_request.hpp"

using namespace cohort;
using namespace cohort::gateway;

namespace {

KeyRequest ok(std::string_view method, std::string_view target, std::string_view body = {}) {
  auto r = parse_key_request(method, target, body);
  if (auto* e = std::get_if<v2::Error>(&r)) FAIL("unexpected error " << e->cause);
  return std::get<KeyRequest>(r);
}

v2::Error fails(std::string_view method, std::string_view target, std::string_view body = {}) {
  auto r = parse_key_request(method, target, body);
  REQUIRE(std::holds_alternative<v2::Error>(r));
  return std::get<v2::Error>(r);
}

}  // namespace

TEST_CASE("etcd request: PUT maps to set create update and compareAndSwap") {
  auto r = ok("PUT", "/v2/keys/foo", "value=bar");
  CHECK(r.command.op == v2::Op::set);
  CHECK(r.command.path == "/foo");
  CHECK(r.command.value == "bar");
  CHECK(ok("PUT", "/v2/keys/foo?prevExist=false", "value=x").command.op == v2::Op::create);
  CHECK(ok("PUT", "/v2/keys/foo?prevExist=true", "value=x").command.op == v2::Op::update);
  r = ok("PUT", "/v2/keys/foo?prevExist=true&prevValue=a", "value=x");
  CHECK(r.command.op == v2::Op::compare_and_swap);
  r = ok("PUT", "/v2/keys/foo", "value=x&prevIndex=7");
  CHECK(r.command.op == v2::Op::compare_and_swap);
  CHECK(r.command.prev_index == 7);
  r = ok("PUT", "/v2/keys/d?dir=true");
  CHECK(r.command.has(v2::flag::dir));
  r = ok("PUT", "/v2/keys/t", "value=1&ttl=5");
  CHECK(r.command.has(v2::flag::has_ttl));
  CHECK(r.command.ttl_ms == 5000);
  // The body wins over the query string; form decoding of + and %XX.
  CHECK(ok("PUT", "/v2/keys/k?value=query", "value=a+b%21").command.value == "a b!");
  CHECK(ok("PUT", "/v2/keys/a%20b", "value=1").command.path == "/a b");
}

TEST_CASE("etcd request: POST GET DELETE and wait") {
  auto r = ok("POST", "/v2/keys/queue", "value=job");
  CHECK(r.command.op == v2::Op::create);
  CHECK(r.command.has(v2::flag::unique));
  r = ok("GET", "/v2/keys/dir?recursive=true&sorted=true&quorum=true");
  CHECK(r.command.op == v2::Op::get);
  CHECK(r.command.has(v2::flag::recursive));
  CHECK(r.quorum);
  CHECK(ok("GET", "/v2/keys").command.path == "/");
  r = ok("GET", "/v2/keys/w?wait=true&waitIndex=12");
  CHECK(r.wait);
  CHECK(r.wait_index == 12);
  CHECK(ok("DELETE", "/v2/keys/k").command.op == v2::Op::remove);
  CHECK(ok("DELETE", "/v2/keys/k?prevValue=v").command.op == v2::Op::compare_and_delete);
  CHECK(ok("DELETE", "/v2/keys/d?recursive=true").command.has(v2::flag::recursive));
}

TEST_CASE("etcd request: bad parameters give etcd's error codes") {
  CHECK(fails("PUT", "/v2/keys/k?ttl=abc", "value=1").code == v2::Errc::ttl_nan);
  CHECK(fails("PUT", "/v2/keys/k?prevIndex=x").code == v2::Errc::index_nan);
  CHECK(fails("GET", "/v2/keys/k?waitIndex=-1&wait=true").code == v2::Errc::index_nan);
  auto e = fails("GET", "/v2/keys/k?recursive=maybe");
  CHECK(e.code == v2::Errc::invalid_field);
  CHECK(e.cause == "invalid value for \"recursive\"");
  CHECK(fails("PUT", "/v2/keys/k?wait=true").code == v2::Errc::invalid_field);
  CHECK(fails("PUT", "/v2/keys/k?prevValue=").code == v2::Errc::prev_value_required);
  CHECK(fails("PUT", "/v2/keys/k?prevExist=perhaps").code == v2::Errc::invalid_field);
  CHECK(fails("PUT", "/v2/keys/k?refresh=true&ttl=5", "value=x").code == v2::Errc::refresh_value);
  CHECK(fails("PUT", "/v2/keys/k?refresh=true").code == v2::Errc::refresh_ttl_required);
  CHECK(fails("PUT", "/v2/keys/bad%zz").code == v2::Errc::invalid_form);
  CHECK(fails("PATCH", "/v2/keys/k").code == v2::Errc::invalid_form);
  CHECK(v2::http_status(v2::Errc::ttl_nan) == 400);
}

TEST_CASE("etcd request: percent decoding and form values") {
  CHECK(percent_decode("a%2Fb", false) == std::optional<std::string>("a/b"));
  CHECK(percent_decode("a+b", false) == std::optional<std::string>("a+b"));
  CHECK_FALSE(percent_decode("%4", false));
  CHECK_FALSE(percent_decode("%", true));
  CHECK(form_value("a=1&b=2&a=3", "a") == std::optional<std::string>("1"));
  CHECK(form_value("flag&b=2", "flag") == std::optional<std::string>(""));
  CHECK_FALSE(form_value("ab=1", "a"));
}
