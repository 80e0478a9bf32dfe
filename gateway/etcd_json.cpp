#include "gateway/etcd_json.hpp"

#include <fmt/format.h>

#include <ctime>

namespace cohort::gateway {

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.push_back('"');
  size_t run = 0;  // start of the pending run of characters that need no escape
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:  // other control characters and Go's HTML-safe <, >, &
        out += "\\u00";
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

std::string rfc3339(uint64_t unix_ms) {
  std::time_t secs = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::string out(buf);
  if (unsigned ms = unix_ms % 1000) {
    std::string frac = fmt::format("{:03}", ms);
    while (frac.back() == '0')
      frac.pop_back();
    out += '.';
    out += frac;
  }
  out += 'Z';
  return out;
}

namespace {

void append_node(std::string& out, const v2::Node& n, uint64_t now_ms, uint64_t wall_now_ms) {
  out.push_back('{');
  bool first = true;
  auto field = [&](std::string_view name) {
    if (!first) out.push_back(',');
    first = false;
    out.push_back('"');
    out += name;
    out += "\":";
  };
  if (!n.key.empty()) {
    field("key");
    append_json_string(out, n.key);
  }
  if (n.value) {
    field("value");
    append_json_string(out, *n.value);
  }
  if (n.dir) {
    field("dir");
    out += "true";
  }
  if (n.expire_ms) {
    // etcd: ttl = ceil((expiration - now) / 1s); both from cluster time here.
    const int64_t left_ms = static_cast<int64_t>(n.expire_ms) - static_cast<int64_t>(now_ms);
    int64_t ttl = left_ms / 1000;
    if (left_ms % 1000 > 0) ++ttl;
    field("expiration");
    out.push_back('"');
    out += rfc3339(static_cast<uint64_t>(static_cast<int64_t>(wall_now_ms) + left_ms));
    out.push_back('"');
    if (ttl != 0) {
      field("ttl");
      fmt::format_to(std::back_inserter(out), "{}", ttl);
    }
  }
  if (!n.nodes.empty()) {
    field("nodes");
    out.push_back('[');
    for (size_t i = 0; i < n.nodes.size(); ++i) {
      if (i) out.push_back(',');
      append_node(out, n.nodes[i], now_ms, wall_now_ms);
    }
    out.push_back(']');
  }
  if (n.modified_index) {
    field("modifiedIndex");
    fmt::format_to(std::back_inserter(out), "{}", n.modified_index);
  }
  if (n.created_index) {
    field("createdIndex");
    fmt::format_to(std::back_inserter(out), "{}", n.created_index);
  }
  out.push_back('}');
}

}  // namespace

void append_event(std::string& out, const v2::Event& e, uint64_t wall_now_ms, bool no_value) {
  out += "{\"action\":";
  append_json_string(out, v2::to_string(e.action));
  if (!no_value) {
    out += ",\"node\":";
    append_node(out, e.node, e.now_ms, wall_now_ms);
    if (e.prev_node) {
      out += ",\"prevNode\":";
      append_node(out, *e.prev_node, e.now_ms, wall_now_ms);
    }
  }
  out += "}\n";
}

void append_error(std::string& out, const v2::Error& e) {
  fmt::format_to(std::back_inserter(out),
                 "{{\"errorCode\":{},\"message\":", static_cast<unsigned>(e.code));
  append_json_string(out, v2::message(e.code));
  if (!e.cause.empty()) {
    out += ",\"cause\":";
    append_json_string(out, e.cause);
  }
  fmt::format_to(std::back_inserter(out), ",\"index\":{}}}\n", e.index);
}

}  // namespace cohort::gateway
