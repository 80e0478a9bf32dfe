#include "blocks/v2_store.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "blocks/block_status.hpp"
#include "stack/codec.hpp"

namespace cohort {

using v2::Action;
using v2::Errc;

struct V2Store::TreeNode {
  std::string path;
  std::string value;
  bool dir = false;
  uint64_t created = 0;
  uint64_t modified = 0;
  uint64_t expire_ms = 0;  ///< 0: permanent
  TreeNode* parent = nullptr;
  Children children;
};

namespace {

constexpr uint8_t snapshot_version = 1;
constexpr int max_snapshot_depth = 512;

// True when p is already what clean_path makes of it (the common case: no work, no allocation).
bool is_clean(std::string_view p) {
  if (p.size() < 2 || p.front() != '/' || p.back() == '/') return false;
  for (size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '/') continue;
    std::string_view rest = p.substr(i + 1);
    if (rest.empty() || rest.front() == '/' || rest == "." || rest.starts_with("./") ||
        rest == ".." || rest.starts_with("../"))
      return false;
  }
  return true;
}

// etcd's path.Clean(path.Join("/", p)): absolute, no empty, "." or ".." components.
std::string clean_path(std::string_view p) {
  if (is_clean(p)) return std::string(p);
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i <= p.size()) {
    size_t j = p.find('/', i);
    if (j == std::string_view::npos) j = p.size();
    std::string_view part = p.substr(i, j - i);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    i = j + 1;
  }
  if (parts.empty()) return "/";
  std::string out;
  for (auto part : parts) {
    out += '/';
    out += part;
  }
  return out;
}

bool starts_with_dir(std::string_view path, std::string_view dir) {
  if (dir == "/") return path.size() > 1;
  return path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/';
}

// etcd's isHidden: a component below the watched path starts with '_'.
bool hidden_below(std::string_view watch_path, std::string_view key) {
  if (watch_path.size() >= key.size()) return false;
  std::string_view rest = key.substr(watch_path == "/" ? 0 : watch_path.size());
  return rest.find("/_") != std::string_view::npos;
}

std::string_view name_of(std::string_view path) {
  return path.substr(path.rfind('/') + 1);
}

}  // namespace

V2Store::V2Store(size_t history_capacity)
    : root_(std::make_unique<TreeNode>()), history_capacity_(history_capacity) {
  root_->path.push_back('/');  // (not = "/": g++ 12 -O2 warns falsely about that memcpy)
  root_->dir = true;
}

V2Store::~V2Store() = default;

v2::Error V2Store::error(Errc code, std::string cause) const {
  return v2::Error{code, std::move(cause), index_};
}

const V2Store::TreeNode* V2Store::find(const std::string& path, v2::Error* err) const {
  const TreeNode* cur = root_.get();
  size_t i = 1;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    if (!cur->dir) {
      *err = error(Errc::not_dir, cur->path);
      return nullptr;
    }
    auto it = cur->children.find(std::string_view(path).substr(i, j - i));
    if (it == cur->children.end()) {
      *err = error(Errc::key_not_found, path.substr(0, j));
      return nullptr;
    }
    cur = it->second.get();
    i = j + 1;
  }
  return cur;
}

V2Store::TreeNode* V2Store::make_parents(const std::string& path, uint64_t index, v2::Error* err) {
  TreeNode* cur = root_.get();
  size_t i = 1;
  const size_t last = path.rfind('/');
  while (i <= last && i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos || j > last) break;
    std::string_view name = std::string_view(path).substr(i, j - i);
    auto it = cur->children.find(name);
    if (it == cur->children.end()) {
      auto d = std::make_unique<TreeNode>();
      d->path = path.substr(0, j);
      d->dir = true;
      d->created = d->modified = index;
      d->parent = cur;
      it = cur->children.emplace(std::string(name), std::move(d)).first;
    } else if (!it->second->dir) {
      *err = error(Errc::not_dir, it->second->path);
      return nullptr;
    }
    cur = it->second.get();
    i = j + 1;
  }
  return cur;
}

v2::Node V2Store::extern_node(const TreeNode& n, bool recursive, bool sorted, int depth) const {
  v2::Node out;
  out.key = n.path;
  out.dir = n.dir;
  if (!n.dir) out.value = n.value;
  out.expire_ms = n.expire_ms;
  out.modified_index = n.modified;
  out.created_index = n.created;
  // depth -1: the node alone (prevNode, events); 0: a listed node and its children.
  if (n.dir && depth >= 0) {
    out.nodes.reserve(n.children.size());
    for (const auto& [name, child] : n.children) {
      if (name.starts_with('_')) continue;  // hidden keys are not listed
      out.nodes.push_back(recursive ? extern_node(*child, true, sorted, depth + 1)
                                    : plain_node(*child));
    }
  }
  return out;
}

void V2Store::forget_ttls(const TreeNode& n) {
  if (n.expire_ms) expiry_.erase({n.expire_ms, n.path});
  for (const auto& [name, child] : n.children)
    forget_ttls(*child);
}

void V2Store::set_ttl(TreeNode& n, const v2::Command& c, uint64_t now) {
  if (n.expire_ms) expiry_.erase({n.expire_ms, n.path});
  n.expire_ms = c.has(v2::flag::has_ttl) ? std::max<uint64_t>(1, now + c.ttl_ms) : 0;
  if (n.expire_ms) expiry_.emplace(n.expire_ms, n.path);
}

void V2Store::detach(TreeNode& n) {
  forget_ttls(n);
  auto& siblings = n.parent->children;
  siblings.erase(siblings.find(name_of(n.path)));  // destroys n
}

bool V2Store::compare(const TreeNode& n, const v2::Command& c, v2::Error* err) const {
  const bool index_ok = c.prev_index == 0 || n.modified == c.prev_index;
  const bool value_ok = c.prev_value.empty() || n.value == c.prev_value;
  if (index_ok && value_ok) return true;
  std::string cause;
  if (index_ok)
    cause = fmt::format("[{} != {}]", c.prev_value, n.value);
  else if (value_ok)
    cause = fmt::format("[{} != {}]", c.prev_index, n.modified);
  else
    cause = fmt::format("[{} != {}] [{} != {}]", c.prev_value, n.value, c.prev_index, n.modified);
  *err = error(Errc::test_failed, std::move(cause));
  return false;
}

v2::Reply V2Store::record(v2::Event e, const std::string& removed_dir) {
  index_ = std::max(index_, e.node.modified_index);
  e.etcd_index = index_;
  history_.push_back(e);
  if (history_.size() > history_capacity_) {
    history_.pop_front();
    history_start_ = history_.front().node.modified_index;
  }
  notify(e, removed_dir);
  return e;
}

void V2Store::notify(const v2::Event& e, const std::string& removed_dir) {
  if (watchers_.empty()) return;
  std::vector<WatchCallback> fire;
  for (auto it = watchers_.begin(); it != watchers_.end();) {
    const Watcher& w = it->second;
    const std::string& key = e.node.key;
    bool exact = w.path == key;
    bool match = exact ||
                 (w.recursive && starts_with_dir(key, w.path) && !hidden_below(w.path, key)) ||
                 (!removed_dir.empty() && starts_with_dir(w.path, removed_dir));
    if (match && e.node.modified_index >= w.since_index) {
      fire.push_back(std::move(it->second.cb));
      it = watchers_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& cb : fire)
    cb(e);
}

std::optional<v2::Reply> V2Store::watch(std::string_view path_in, bool recursive,
                                        uint64_t since_index, WatchCallback cb, uint64_t* id) {
  std::string path = clean_path(path_in);
  if (since_index == 0) since_index = index_ + 1;
  if (history_start_ && since_index < history_start_)
    return error(
        Errc::event_index_cleared,
        fmt::format("the requested history has been cleared [{}/{}]", history_start_, since_index));
  auto first = std::lower_bound(
      history_.begin(), history_.end(), since_index,
      [](const v2::Event& e, uint64_t idx) { return e.node.modified_index < idx; });
  for (auto it = first; it != history_.end(); ++it) {
    const std::string& key = it->node.key;
    bool match = key == path || (recursive && starts_with_dir(key, path));
    if ((it->action == Action::remove || it->action == Action::expire) && it->prev_node &&
        it->prev_node->dir)
      match = match || starts_with_dir(path, key);
    if (match) {
      v2::Event e = *it;
      e.etcd_index = index_;
      return e;
    }
  }
  *id = next_watcher_id_++;
  watchers_.emplace(*id, Watcher{std::move(path), recursive, since_index, std::move(cb)});
  return std::nullopt;
}

void V2Store::cancel_watch(uint64_t id) {
  watchers_.erase(id);
}

// ---- operations (etcd's v2store/store.go) -----------------------------------------------

v2::Reply V2Store::set(const ApplyContext& ctx, const v2::Command& c, Action action) {
  std::string path = clean_path(c.path);
  if (path == "/") return error(Errc::root_read_only, "/");
  v2::Error err;
  const TreeNode* existing = find(path, &err);
  if (!existing && err.code != Errc::key_not_found) return err;
  std::string value = c.value;
  if (c.has(v2::flag::refresh)) {
    if (!existing) return err;
    value = existing->value;
  }
  if (existing && existing->dir) return error(Errc::not_file, path);

  v2::Event e;
  e.action = action;
  e.now_ms = ctx.cluster_time_ms;
  if (existing) e.prev_node = plain_node(*existing);
  TreeNode* n = nullptr;
  if (existing && !c.has(v2::flag::dir)) {
    // A file replaced by a file: the new node takes the old one's place in the tree (one walk
    // down a directory that may hold millions of keys, not three).
    n = const_cast<TreeNode*>(existing);
  } else {
    TreeNode* parent = make_parents(path, ctx.index, &err);
    if (!parent) return err;
    if (existing) detach(*const_cast<TreeNode*>(existing));
    auto fresh = std::make_unique<TreeNode>();
    fresh->path = path;
    fresh->dir = c.has(v2::flag::dir);
    fresh->parent = parent;
    n = fresh.get();
    parent->children.emplace(std::string(name_of(path)), std::move(fresh));
  }
  if (!n->dir) n->value = std::move(value);
  n->created = n->modified = ctx.index;
  set_ttl(*n, c, ctx.cluster_time_ms);
  e.node = plain_node(*n);
  if (c.has(v2::flag::refresh)) {  // a refresh changes the index but wakes no watcher
    index_ = ctx.index;
    e.etcd_index = index_;
    return e;
  }
  return record(std::move(e), {});
}

v2::Reply V2Store::create(const ApplyContext& ctx, const v2::Command& c) {
  std::string path = c.path;
  if (c.has(v2::flag::unique)) path += fmt::format("/{:020}", ctx.index);
  path = clean_path(path);
  if (path == "/") return error(Errc::root_read_only, "/");
  v2::Error err;
  if (find(path, &err)) return error(Errc::node_exist, path);
  if (err.code != Errc::key_not_found) return err;
  TreeNode* parent = make_parents(path, ctx.index, &err);
  if (!parent) return err;
  auto n = std::make_unique<TreeNode>();
  n->path = path;
  n->dir = c.has(v2::flag::dir);
  if (!n->dir) n->value = c.value;
  n->created = n->modified = ctx.index;
  n->parent = parent;
  set_ttl(*n, c, ctx.cluster_time_ms);
  v2::Event e;
  e.action = Action::create;
  e.now_ms = ctx.cluster_time_ms;
  e.node = plain_node(*n);
  parent->children.emplace(std::string(name_of(path)), std::move(n));
  return record(std::move(e), {});
}

v2::Reply V2Store::update(const ApplyContext& ctx, const v2::Command& c) {
  std::string path = clean_path(c.path);
  if (path == "/") return error(Errc::root_read_only, "/");
  v2::Error err;
  auto* n = const_cast<TreeNode*>(find(path, &err));
  if (!n) return err;
  if (n->dir && !c.value.empty()) return error(Errc::not_file, path);
  v2::Event e;
  e.action = Action::update;
  e.now_ms = ctx.cluster_time_ms;
  e.prev_node = plain_node(*n);
  if (!n->dir && !c.has(v2::flag::refresh)) n->value = c.value;
  n->modified = ctx.index;
  set_ttl(*n, c, ctx.cluster_time_ms);
  e.node = plain_node(*n);
  if (c.has(v2::flag::refresh)) {
    index_ = ctx.index;
    e.etcd_index = index_;
    return e;
  }
  return record(std::move(e), {});
}

v2::Reply V2Store::compare_and_swap(const ApplyContext& ctx, const v2::Command& c) {
  std::string path = clean_path(c.path);
  if (path == "/") return error(Errc::root_read_only, "/");
  v2::Error err;
  auto* n = const_cast<TreeNode*>(find(path, &err));
  if (!n) return err;
  if (n->dir) return error(Errc::not_file, path);
  if (!compare(*n, c, &err)) return err;
  v2::Event e;
  e.action = Action::compare_and_swap;
  e.now_ms = ctx.cluster_time_ms;
  e.prev_node = plain_node(*n);
  if (!c.has(v2::flag::refresh)) n->value = c.value;
  n->modified = ctx.index;
  set_ttl(*n, c, ctx.cluster_time_ms);
  e.node = plain_node(*n);
  if (c.has(v2::flag::refresh)) {
    index_ = ctx.index;
    e.etcd_index = index_;
    return e;
  }
  return record(std::move(e), {});
}

v2::Reply V2Store::remove(const ApplyContext& ctx, const v2::Command& c) {
  std::string path = clean_path(c.path);
  if (path == "/") return error(Errc::root_read_only, "/");
  const bool recursive = c.has(v2::flag::recursive);
  const bool dir = recursive || c.has(v2::flag::dir);
  v2::Error err;
  auto* n = const_cast<TreeNode*>(find(path, &err));
  if (!n) return err;
  if (n->dir) {
    if (!dir) return error(Errc::not_file, path);
    if (!n->children.empty() && !recursive) return error(Errc::dir_not_empty, path);
  }
  v2::Event e;
  e.action = Action::remove;
  e.now_ms = ctx.cluster_time_ms;
  e.prev_node = plain_node(*n);
  e.node.key = path;
  e.node.dir = n->dir;
  e.node.modified_index = ctx.index;
  e.node.created_index = n->created;
  const bool was_dir = n->dir;
  detach(*n);
  return record(std::move(e), was_dir ? path : std::string());
}

v2::Reply V2Store::compare_and_delete(const ApplyContext& ctx, const v2::Command& c) {
  std::string path = clean_path(c.path);
  if (path == "/") return error(Errc::root_read_only, "/");
  v2::Error err;
  auto* n = const_cast<TreeNode*>(find(path, &err));
  if (!n) return err;
  if (n->dir) return error(Errc::not_file, path);
  if (!compare(*n, c, &err)) return err;
  v2::Event e;
  e.action = Action::compare_and_delete;
  e.now_ms = ctx.cluster_time_ms;
  e.prev_node = plain_node(*n);
  e.node.key = path;
  e.node.modified_index = ctx.index;
  e.node.created_index = n->created;
  detach(*n);
  return record(std::move(e), {});
}

void V2Store::expire(const ApplyContext& ctx) {
  now_ms_ = std::max(now_ms_, ctx.cluster_time_ms);
  while (!expiry_.empty() && expiry_.begin()->first <= ctx.cluster_time_ms) {
    std::string path = expiry_.begin()->second;
    v2::Error err;
    auto* n = const_cast<TreeNode*>(find(path, &err));
    if (!n) {  // cannot happen: removals forget their TTLs; never loop on it
      expiry_.erase(expiry_.begin());
      continue;
    }
    v2::Event e;
    e.action = Action::expire;
    e.now_ms = ctx.cluster_time_ms;
    e.prev_node = plain_node(*n);
    e.node.key = path;
    e.node.dir = n->dir;
    e.node.modified_index = index_ + 1;
    e.node.created_index = n->created;
    const bool was_dir = n->dir;
    detach(*n);
    record(std::move(e), was_dir ? path : std::string());
  }
}

v2::Reply V2Store::get(std::string_view path_in, bool recursive, bool sorted) const {
  std::string path = clean_path(path_in);
  v2::Error err;
  const TreeNode* n = find(path, &err);
  if (!n) return err;
  v2::Event e;
  e.action = Action::get;
  e.node = extern_node(*n, recursive, sorted, 0);
  if (n == root_.get()) e.node.key.clear();  // etcd omits the root's key
  e.etcd_index = index_;
  e.now_ms = now_ms_;
  return e;
}

v2::Reply V2Store::execute(const ApplyContext& entry, const v2::Command& c) {
  expire(entry);
  // Every change takes the store's next index (etcd's v2 store counts the same way), not the
  // log index: a batch entry holds many changes, each with its own index.
  ApplyContext ctx = entry;
  ctx.index = index_ + 1;
  switch (c.op) {
    case v2::Op::set:
      return set(ctx, c, Action::set);
    case v2::Op::create:
      return create(ctx, c);
    case v2::Op::update:
      return update(ctx, c);
    case v2::Op::compare_and_swap:
      return compare_and_swap(ctx, c);
    case v2::Op::remove:
      return remove(ctx, c);
    case v2::Op::compare_and_delete:
      return compare_and_delete(ctx, c);
    case v2::Op::sync: {
      v2::Event e;
      e.etcd_index = index_;
      e.now_ms = now_ms_;
      return e;
    }
    case v2::Op::get:
      return get(c.path, c.has(v2::flag::recursive), c.has(v2::flag::sorted));
  }
  return error(Errc::invalid_field, "unknown operation");
}

// ---- StateMachine ------------------------------------------------------------------------

Buffer V2Store::apply(const ApplyContext& ctx, const Buffer& command) {
  if (!command.empty() && command.data()[0] == v2::batch_tag) {
    auto commands = v2::decode_batch(command);
    if (!commands) return make_result(BlockStatus::malformed);
    v2::BatchResults out;
    out.log_index = ctx.index;
    out.results.reserve(commands->size());
    for (const Buffer& one : *commands) {
      auto c = v2::decode_command(one);
      out.results.push_back(c ? make_result(BlockStatus::ok, v2::encode(execute(ctx, *c)))
                              : make_result(BlockStatus::malformed));
    }
    return make_result(BlockStatus::ok, v2::encode_batch_results(out));
  }
  auto c = v2::decode_command(command);
  if (!c) return make_result(BlockStatus::malformed);
  return make_result(BlockStatus::ok, v2::encode(execute(ctx, *c)));
}

Buffer V2Store::query(const Buffer& query) const {
  auto c = v2::decode_command(query);
  if (!c) return make_result(BlockStatus::malformed);
  if (c->op != v2::Op::get) return make_result(BlockStatus::write_in_query);
  return make_result(BlockStatus::ok, v2::encode(get(c->path, c->has(v2::flag::recursive),
                                                     c->has(v2::flag::sorted))));
}

void V2Store::advance_time(const ApplyContext& ctx) {
  expire(ctx);
}

namespace {

void write_tree(codec::Writer& w, const auto& n) {
  w.str(n.path);
  w.u8(n.dir ? 1 : 0);
  w.str(n.value);
  w.varint(n.created);
  w.varint(n.modified);
  w.varint(n.expire_ms);
  w.varint(n.children.size());
  for (const auto& [name, child] : n.children)
    write_tree(w, *child);
}

}  // namespace

Buffer V2Store::snapshot() const {
  codec::Writer w;
  w.u8(snapshot_version);
  w.varint(index_);
  w.varint(now_ms_);
  write_tree(w, *root_);
  w.varint(history_start_);
  w.varint(history_.size());
  for (const auto& e : history_)
    w.bytes(v2::encode(v2::Reply(e)).span());
  return w.take_buffer();
}

void V2Store::restore(const Buffer& snapshot) {
  codec::Reader r(snapshot);
  if (r.u8() != snapshot_version || !r.ok()) throw SnapshotError("v2 snapshot: bad version");
  const uint64_t index = r.varint();
  const uint64_t now = r.varint();
  std::set<std::pair<uint64_t, std::string>> expiry;
  // Reads one node and its subtree; false on malformed input.
  auto read_tree = [&](auto& self, TreeNode& n, int depth) -> bool {
    if (depth > max_snapshot_depth) return false;
    n.path = r.str();
    n.dir = r.u8() != 0;
    n.value = r.str();
    n.created = r.varint();
    n.modified = r.varint();
    n.expire_ms = r.varint();
    if (n.expire_ms) expiry.emplace(n.expire_ms, n.path);
    const uint64_t count = r.varint_max(r.remaining() / 7, "v2 snapshot: child count");
    if (!r.ok()) return false;
    for (uint64_t i = 0; i < count; ++i) {
      auto child = std::make_unique<TreeNode>();
      child->parent = &n;
      if (!self(self, *child, depth + 1)) return false;
      std::string name(name_of(child->path));
      n.children.emplace(std::move(name), std::move(child));
    }
    return r.ok();
  };
  auto root = std::make_unique<TreeNode>();
  if (!read_tree(read_tree, *root, 0) || root->path != "/")
    throw SnapshotError("v2 snapshot: malformed tree");
  const uint64_t start = r.varint();
  const uint64_t count = r.varint_max(r.remaining(), "v2 snapshot: history count");
  std::deque<v2::Event> history;
  for (uint64_t i = 0; i < count && r.ok(); ++i) {
    Buffer body = r.bytes();
    auto reply = v2::decode_result(make_result(BlockStatus::ok, body));
    if (!reply || !std::holds_alternative<v2::Event>(*reply))
      throw SnapshotError("v2 snapshot: malformed event");
    history.push_back(std::get<v2::Event>(std::move(*reply)));
  }
  if (!r.ok() || !r.at_end()) throw SnapshotError("v2 snapshot: malformed");
  root_ = std::move(root);
  index_ = index;
  now_ms_ = now;
  expiry_ = std::move(expiry);
  history_start_ = start;
  history_ = std::move(history);
}

}  // namespace cohort
