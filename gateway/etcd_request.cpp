#include "gateway/etcd_request.hpp"

#include <charconv>

namespace cohort::gateway {

namespace {

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Go's strconv.ParseBool.
std::optional<bool> parse_bool(std::string_view s) {
  if (s == "1" || s == "t" || s == "T" || s == "true" || s == "TRUE" || s == "True") return true;
  if (s == "0" || s == "f" || s == "F" || s == "false" || s == "FALSE" || s == "False")
    return false;
  return std::nullopt;
}

std::optional<uint64_t> parse_uint(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

v2::Error bad(v2::Errc code, std::string cause) {
  return v2::Error{code, std::move(cause), 0};
}

// The request's form: body values first, then the query string's.
class Form {
 public:
  Form(std::string_view query, std::string_view body) : query_(query), body_(body) {}
  std::optional<std::string> get(std::string_view name) const {
    if (auto v = form_value(body_, name)) return v;
    return form_value(query_, name);
  }
  std::string value(std::string_view name) const { return get(name).value_or(""); }

 private:
  std::string_view query_, body_;
};

}  // namespace

std::optional<std::string> percent_decode(std::string_view s, bool form) {
  if (s.find_first_of(form ? "%+" : "%") == std::string_view::npos) return std::string(s);
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      if (i + 2 >= s.size()) return std::nullopt;
      int hi = hex_digit(s[i + 1]), lo = hex_digit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && form) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::optional<std::string> form_value(std::string_view form, std::string_view name) {
  size_t i = 0;
  while (i < form.size()) {
    size_t end = form.find('&', i);
    if (end == std::string_view::npos) end = form.size();
    std::string_view pair = form.substr(i, end - i);
    size_t eq = pair.find('=');
    std::string_view key = pair.substr(0, eq);
    if (key == name) {  // parameter names etcd reads need no decoding
      if (eq == std::string_view::npos) return std::string();
      auto v = percent_decode(pair.substr(eq + 1), true);
      if (v) return v;
    }
    i = end + 1;
  }
  return std::nullopt;
}

std::variant<KeyRequest, v2::Error> parse_key_request(std::string_view method,
                                                      std::string_view target,
                                                      std::string_view body) {
  size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  std::string_view query = q == std::string_view::npos ? std::string_view() : target.substr(q + 1);
  if (!raw_path.starts_with(keys_prefix))
    return bad(v2::Errc::invalid_form, "incorrect key prefix");
  auto path = percent_decode(raw_path.substr(keys_prefix.size()), false);
  if (!path) return bad(v2::Errc::invalid_form, "invalid URL escape in the key");
  Form form(query, body);

  KeyRequest kr;
  v2::Command& c = kr.command;
  c.path = path->empty() ? "/" : *path;

  auto get_uint = [&](std::string_view name, uint64_t& out) {
    auto v = form.get(name);
    if (!v) return true;
    auto n = parse_uint(*v);
    if (!n) return false;
    out = *n;
    return true;
  };
  auto get_bool = [&](std::string_view name, bool& out) {
    auto v = form.get(name);
    if (!v) return true;
    auto b = parse_bool(*v);
    if (!b) return false;
    out = *b;
    return true;
  };
  auto invalid = [](std::string_view name) {
    return bad(v2::Errc::invalid_field, "invalid value for \"" + std::string(name) + "\"");
  };

  if (!get_uint("prevIndex", c.prev_index))
    return bad(v2::Errc::index_nan, "invalid value for \"prevIndex\"");
  if (!get_uint("waitIndex", kr.wait_index))
    return bad(v2::Errc::index_nan, "invalid value for \"waitIndex\"");
  bool recursive = false, sorted = false, dir = false, stream = false;
  if (!get_bool("recursive", recursive)) return invalid("recursive");
  if (!get_bool("sorted", sorted)) return invalid("sorted");
  if (!get_bool("wait", kr.wait)) return invalid("wait");
  if (!get_bool("dir", dir)) return invalid("dir");
  if (!get_bool("quorum", kr.quorum)) return invalid("quorum");
  if (!get_bool("stream", stream)) return invalid("stream");
  if (kr.wait && method != "GET")
    return bad(v2::Errc::invalid_field, "\"wait\" can only be used with GET requests");
  auto prev_value = form.get("prevValue");
  if (prev_value && prev_value->empty())
    return bad(v2::Errc::prev_value_required, "\"prevValue\" cannot be empty");
  c.prev_value = prev_value.value_or("");
  if (!get_bool("noValueOnSuccess", kr.no_value_on_success)) return invalid("noValueOnSuccess");

  if (auto ttl = form.get("ttl"); ttl && !ttl->empty()) {
    auto n = parse_uint(*ttl);
    if (!n || *n > UINT64_MAX / 1000) return bad(v2::Errc::ttl_nan, "invalid value for \"ttl\"");
    c.flags |= v2::flag::has_ttl;
    c.ttl_ms = *n * 1000;
  }
  if (form.get("prevExist")) {
    bool pe = false;
    if (!get_bool("prevExist", pe))
      return bad(v2::Errc::invalid_field, "invalid value for prevExist");
    c.prev_exist = pe;
  }
  bool refresh = false;
  if (!get_bool("refresh", refresh))
    return bad(v2::Errc::invalid_field, "invalid value for refresh");
  c.value = form.value("value");
  if (refresh) {
    if (!c.value.empty()) return bad(v2::Errc::refresh_value, "A value was provided on a refresh");
    if (!c.has(v2::flag::has_ttl)) return bad(v2::Errc::refresh_ttl_required, "No TTL value set");
    c.flags |= v2::flag::refresh;
  }
  if (dir) c.flags |= v2::flag::dir;
  if (recursive) c.flags |= v2::flag::recursive;
  if (sorted) c.flags |= v2::flag::sorted;

  // etcd's v2 apply: which store operation the request is.
  const bool compare = c.prev_index > 0 || !c.prev_value.empty();
  if (method == "GET" || method == "HEAD") {
    c.op = v2::Op::get;
  } else if (method == "PUT") {
    if (c.prev_exist)
      c.op =
          !*c.prev_exist ? v2::Op::create : (compare ? v2::Op::compare_and_swap : v2::Op::update);
    else
      c.op = compare ? v2::Op::compare_and_swap : v2::Op::set;
  } else if (method == "POST") {
    c.op = v2::Op::create;
    c.flags |= v2::flag::unique;
  } else if (method == "DELETE") {
    c.op = compare ? v2::Op::compare_and_delete : v2::Op::remove;
  } else {
    return bad(v2::Errc::invalid_form, "method not allowed");
  }
  return kr;
}

}  // namespace cohort::gateway
