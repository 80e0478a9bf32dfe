#include "blocks/v2_codec.hpp"

#include "blocks/block_status.hpp"
#include "stack/codec.hpp"

namespace cohort::v2 {

std::string_view to_string(Action a) {
  switch (a) {
    case Action::get:
      return "get";
    case Action::set:
      return "set";
    case Action::create:
      return "create";
    case Action::update:
      return "update";
    case Action::compare_and_swap:
      return "compareAndSwap";
    case Action::remove:
      return "delete";
    case Action::compare_and_delete:
      return "compareAndDelete";
    case Action::expire:
      return "expire";
  }
  return "unknown";
}

std::string_view message(Errc e) {
  switch (e) {
    case Errc::key_not_found:
      return "Key not found";
    case Errc::test_failed:
      return "Compare failed";
    case Errc::not_file:
      return "Not a file";
    case Errc::not_dir:
      return "Not a directory";
    case Errc::node_exist:
      return "Key already exists";
    case Errc::root_read_only:
      return "Root is read only";
    case Errc::dir_not_empty:
      return "Directory not empty";
    case Errc::prev_value_required:
      return "PrevValue is Required in POST form";
    case Errc::ttl_nan:
      return "The given TTL in POST form is not a number";
    case Errc::index_nan:
      return "The given index in POST form is not a number";
    case Errc::invalid_field:
      return "Invalid field";
    case Errc::invalid_form:
      return "Invalid POST form";
    case Errc::refresh_value:
      return "Value provided on refresh";
    case Errc::refresh_ttl_required:
      return "A TTL must be provided on refresh";
    case Errc::raft_internal:
      return "Raft Internal Error";
    case Errc::leader_elect:
      return "During Leader Election";
    case Errc::event_index_cleared:
      return "The event in requested index is outdated and cleared";
  }
  return "Unknown error";
}

unsigned http_status(Errc e) {
  switch (e) {
    case Errc::key_not_found:
      return 404;
    case Errc::not_file:
    case Errc::dir_not_empty:
      return 403;
    case Errc::test_failed:
    case Errc::node_exist:
      return 412;
    case Errc::raft_internal:
    case Errc::leader_elect:
      return 500;
    default:
      return 400;
  }
}

Buffer encode(const Command& c) {
  codec::Writer w(c.path.size() + c.value.size() + c.prev_value.size() + 16);
  w.u8(static_cast<uint8_t>(c.op));
  w.str(c.path);
  w.str(c.value);
  w.u8(c.flags);
  w.varint(c.ttl_ms);
  w.str(c.prev_value);
  w.varint(c.prev_index);
  w.u8(c.prev_exist ? (*c.prev_exist ? 2 : 1) : 0);
  return w.take_buffer();
}

std::optional<Command> decode_command(const Buffer& in) {
  codec::Reader r(in);
  Command c;
  const uint8_t op = r.u8();
  if (!r.ok() || op < 1 || op > 8) return std::nullopt;
  c.op = static_cast<Op>(op);
  c.path = r.str();
  c.value = r.str();
  c.flags = r.u8();
  c.ttl_ms = r.varint();
  c.prev_value = r.str();
  c.prev_index = r.varint();
  const uint8_t pe = r.u8();
  if (!r.ok() || !r.at_end() || pe > 2) return std::nullopt;
  if (pe) c.prev_exist = pe == 2;
  return c;
}

namespace {

constexpr uint64_t max_batch = 1u << 16;

Buffer encode_list(std::optional<uint64_t> head, const std::vector<Buffer>& items) {
  size_t total = 24;
  for (const auto& b : items)
    total += b.size() + 5;
  codec::Writer w(total);
  if (head) w.varint(*head);
  w.varint(items.size());
  for (const auto& b : items)
    w.bytes(std::span(b.data(), b.size()));
  return Buffer(w.take());
}

std::optional<std::vector<Buffer>> decode_list(codec::Reader& r) {
  const uint64_t n = r.varint_max(max_batch, "batch too large");
  std::vector<Buffer> items;
  items.reserve(r.ok() ? n : 0);
  for (uint64_t i = 0; i < n && r.ok(); ++i)
    items.push_back(r.bytes());
  if (!r.ok() || !r.at_end()) return std::nullopt;
  return items;
}

}  // namespace

Buffer encode_batch(const std::vector<Buffer>& commands) {
  static_assert(batch_tag < 0x80, "written as a varint: one byte");
  return encode_list(batch_tag, commands);
}

std::optional<std::vector<Buffer>> decode_batch(const Buffer& in) {
  codec::Reader r(in);
  if (r.u8() != batch_tag || !r.ok()) return std::nullopt;
  return decode_list(r);
}

Buffer encode_batch_results(const BatchResults& r) {
  return encode_list(r.log_index, r.results);
}

std::optional<BatchResults> decode_batch_results(const Buffer& result) {
  BlockResult parsed = parse_result(result);
  if (parsed.status != BlockStatus::ok) return std::nullopt;
  codec::Reader r(parsed.body);
  BatchResults out;
  out.log_index = r.varint();
  auto items = decode_list(r);
  if (!items) return std::nullopt;
  out.results = std::move(*items);
  return out;
}

namespace {

// Listings nest at most as deep as paths do; this bounds the decoder's recursion.
constexpr int max_node_depth = 512;

void write_node(codec::Writer& w, const Node& n) {
  w.str(n.key);
  w.u8((n.dir ? 1 : 0) | (n.value ? 2 : 0));
  if (n.value) w.str(*n.value);
  w.varint(n.expire_ms);
  w.varint(n.modified_index);
  w.varint(n.created_index);
  w.varint(n.nodes.size());
  for (const auto& child : n.nodes)
    write_node(w, child);
}

bool read_node(codec::Reader& r, Node& n, int depth) {
  if (depth > max_node_depth) return false;
  n.key = r.str();
  const uint8_t flags = r.u8();
  n.dir = flags & 1;
  if (flags & 2) n.value = r.str();
  n.expire_ms = r.varint();
  n.modified_index = r.varint();
  n.created_index = r.varint();
  // Each child takes at least 6 bytes: a count beyond that is hostile.
  const uint64_t count = r.varint_max(r.remaining() / 6, "node count beyond end");
  if (!r.ok()) return false;
  n.nodes.resize(count);
  for (auto& child : n.nodes)
    if (!read_node(r, child, depth + 1)) return false;
  return r.ok();
}

}  // namespace

Buffer encode(const Reply& reply) {
  codec::Writer w;
  if (const auto* e = std::get_if<Event>(&reply)) {
    w.u8(0);
    w.u8(static_cast<uint8_t>(e->action));
    write_node(w, e->node);
    w.u8(e->prev_node ? 1 : 0);
    if (e->prev_node) write_node(w, *e->prev_node);
    w.varint(e->etcd_index);
    w.varint(e->now_ms);
  } else {
    const auto& err = std::get<Error>(reply);
    w.u8(1);
    w.varint(static_cast<uint64_t>(err.code));
    w.str(err.cause);
    w.varint(err.index);
  }
  return w.take_buffer();
}

std::optional<Reply> decode_result(const Buffer& result) {
  BlockResult br = parse_result(result);
  if (!br.ok()) return std::nullopt;
  codec::Reader r(br.body);
  const uint8_t kind = r.u8();
  if (kind == 0) {
    Event e;
    const uint8_t action = r.u8();
    if (action > static_cast<uint8_t>(Action::expire)) return std::nullopt;
    e.action = static_cast<Action>(action);
    if (!read_node(r, e.node, 0)) return std::nullopt;
    const uint8_t has_prev = r.u8();
    if (has_prev > 1) return std::nullopt;
    if (has_prev) {
      e.prev_node.emplace();
      if (!read_node(r, *e.prev_node, 0)) return std::nullopt;
    }
    e.etcd_index = r.varint();
    e.now_ms = r.varint();
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return Reply(std::move(e));
  }
  if (kind == 1) {
    Error err;
    err.code = static_cast<Errc>(r.varint_max(999, "error code"));
    err.cause = r.str();
    err.index = r.varint();
    if (!r.ok() || !r.at_end()) return std::nullopt;
    return Reply(std::move(err));
  }
  return std::nullopt;
}

}  // namespace cohort::v2
