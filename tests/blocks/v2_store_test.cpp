// V2Store (etcd v2 keys store): every action and error code, directories and listings, TTL
// expiry on cluster time, the event history and watchers, codec and snapshot round trips.
#include <doctest/doctest.h>

#include "blocks/block_status.hpp"
#include "blocks/v2_store.hpp"
#include "blocks_test_util.hpp"

using namespace cohort;
using test::ctx_at;

namespace {

// Drives a store the way REPLICATION does: apply through the codec, then advance_time.
struct Driver {
  explicit Driver(size_t history = V2Store::default_history_capacity) : store(history) {}
  V2Store store;
  uint64_t index = 0;
  uint64_t now_ms = 1000;

  v2::Reply run(v2::Command c) {
    ++index;
    ApplyContext ctx = ctx_at(index, now_ms);
    Buffer result = store.apply(ctx, v2::encode(c));
    store.advance_time(ctx);
    auto reply = v2::decode_result(result);
    REQUIRE(reply.has_value());
    return *reply;
  }
  v2::Event ok(v2::Command c) {
    auto r = run(std::move(c));
    if (auto* err = std::get_if<v2::Error>(&r))
      FAIL("unexpected error " << static_cast<int>(err->code) << " " << err->cause);
    return std::get<v2::Event>(r);
  }
  v2::Error fails(v2::Command c) {
    auto r = run(std::move(c));
    REQUIRE(std::holds_alternative<v2::Error>(r));
    return std::get<v2::Error>(r);
  }
  v2::Reply query(std::string path, uint8_t flags = 0) {
    v2::Command c;
    c.op = v2::Op::get;
    c.path = std::move(path);
    c.flags = flags;
    auto reply = v2::decode_result(store.query(v2::encode(c)));
    REQUIRE(reply.has_value());
    return *reply;
  }
};

v2::Command cmd(v2::Op op, std::string path, std::string value = {}, uint8_t flags = 0) {
  v2::Command c;
  c.op = op;
  c.path = std::move(path);
  c.value = std::move(value);
  c.flags = flags;
  return c;
}

}  // namespace

TEST_CASE("v2 store: set get update with prevNode and indexes") {
  Driver d;
  auto e = d.ok(cmd(v2::Op::set, "/foo", "bar"));
  CHECK(e.action == v2::Action::set);
  CHECK(e.node.key == "/foo");
  CHECK(e.node.value == "bar");
  CHECK(e.node.created_index == 1);
  CHECK(e.node.modified_index == 1);
  CHECK_FALSE(e.prev_node);
  CHECK(e.etcd_index == 1);

  e = d.ok(cmd(v2::Op::set, "foo", "baz"));  // paths are cleaned: "foo" is "/foo"
  REQUIRE(e.prev_node);
  CHECK(e.prev_node->value == "bar");
  CHECK(e.node.created_index == 2);  // set replaces the node
  CHECK(d.store.index() == 2);

  auto g = std::get<v2::Event>(d.query("/foo"));
  CHECK(g.action == v2::Action::get);
  CHECK(g.node.value == "baz");
  CHECK(g.etcd_index == 2);

  e = d.ok(cmd(v2::Op::update, "/foo", "qux"));
  CHECK(e.action == v2::Action::update);
  CHECK(e.node.created_index == 2);
  CHECK(e.node.modified_index == 3);
  CHECK(e.prev_node->value == "baz");

  auto err = d.fails(cmd(v2::Op::update, "/nope", "x"));
  CHECK(err.code == v2::Errc::key_not_found);
  CHECK(err.cause == "/nope");
  CHECK(err.index == 3);
  CHECK(v2::http_status(err.code) == 404);
}

TEST_CASE("v2 store: create and in-order keys") {
  Driver d;
  auto e = d.ok(cmd(v2::Op::create, "/a", "1"));
  CHECK(e.action == v2::Action::create);
  auto err = d.fails(cmd(v2::Op::create, "/a", "2"));
  CHECK(err.code == v2::Errc::node_exist);
  CHECK(err.cause == "/a");
  CHECK(v2::http_status(err.code) == 412);

  // In-order keys are named by the store's next index (the failed create took none).
  e = d.ok(cmd(v2::Op::create, "/queue", "job1", v2::flag::unique));
  CHECK(e.node.key == "/queue/00000000000000000002");
  e = d.ok(cmd(v2::Op::create, "/queue", "job2", v2::flag::unique));
  CHECK(e.node.key == "/queue/00000000000000000003");
  auto list = std::get<v2::Event>(d.query("/queue"));
  REQUIRE(list.node.nodes.size() == 2);
  CHECK(list.node.nodes[0].value == "job1");
  CHECK(list.node.nodes[1].value == "job2");
}

TEST_CASE("v2 store: compare and swap and compare and delete") {
  Driver d;
  d.ok(cmd(v2::Op::set, "/k", "one"));  // index 1
  auto c = cmd(v2::Op::compare_and_swap, "/k", "two");
  c.prev_value = "one";
  auto e = d.ok(c);
  CHECK(e.action == v2::Action::compare_and_swap);
  CHECK(e.node.value == "two");
  CHECK(e.prev_node->value == "one");

  c.prev_value = "one";  // stale now
  auto err = d.fails(c);
  CHECK(err.code == v2::Errc::test_failed);
  CHECK(err.cause == "[one != two]");

  c = cmd(v2::Op::compare_and_swap, "/k", "three");
  c.prev_index = 2;
  CHECK(d.ok(c).node.modified_index == 3);  // the failed CAS changed nothing, took no index
  c.prev_index = 2;
  c.prev_value = "zzz";
  err = d.fails(c);
  CHECK(err.cause == "[zzz != three] [2 != 3]");

  c = cmd(v2::Op::compare_and_swap, "/missing", "x");
  c.prev_value = "y";
  CHECK(d.fails(c).code == v2::Errc::key_not_found);

  auto del = cmd(v2::Op::compare_and_delete, "/k");
  del.prev_value = "nope";
  CHECK(d.fails(del).code == v2::Errc::test_failed);
  del.prev_value = "three";
  e = d.ok(del);
  CHECK(e.action == v2::Action::compare_and_delete);
  CHECK(e.prev_node->value == "three");
  CHECK_FALSE(e.node.value);
  CHECK(std::get<v2::Error>(d.query("/k")).code == v2::Errc::key_not_found);
}

TEST_CASE("v2 store: directories listings and delete rules") {
  Driver d;
  d.ok(cmd(v2::Op::set, "/dir/a", "1"));
  d.ok(cmd(v2::Op::set, "/dir/sub/b", "2"));
  d.ok(cmd(v2::Op::set, "/dir/_hidden", "h"));
  d.ok(cmd(v2::Op::set, "/dir/empty", "", v2::flag::dir));

  auto list = std::get<v2::Event>(d.query("/dir"));
  CHECK(list.node.dir);
  REQUIRE(list.node.nodes.size() == 3);  // a, empty, sub (sorted; _hidden not listed)
  CHECK(list.node.nodes[0].key == "/dir/a");
  CHECK(list.node.nodes[1].key == "/dir/empty");
  CHECK(list.node.nodes[1].dir);
  CHECK(list.node.nodes[2].key == "/dir/sub");
  CHECK(list.node.nodes[2].nodes.empty());  // not recursive

  auto rec = std::get<v2::Event>(d.query("/dir", v2::flag::recursive));
  REQUIRE(rec.node.nodes.size() == 3);
  REQUIRE(rec.node.nodes[2].nodes.size() == 1);
  CHECK(rec.node.nodes[2].nodes[0].value == "2");

  auto root = std::get<v2::Event>(d.query("/"));
  CHECK(root.node.key.empty());
  CHECK(root.node.dir);

  // 102 not a file: set over a directory; delete a dir without dir=true.
  CHECK(d.fails(cmd(v2::Op::set, "/dir", "x")).code == v2::Errc::not_file);
  CHECK(v2::http_status(v2::Errc::not_file) == 403);
  CHECK(d.fails(cmd(v2::Op::remove, "/dir")).code == v2::Errc::not_file);
  // 104 not a directory: a file in the way.
  auto err = d.fails(cmd(v2::Op::set, "/dir/a/x", "y"));
  CHECK(err.code == v2::Errc::not_dir);
  CHECK(err.cause == "/dir/a");
  CHECK(std::get<v2::Error>(d.query("/dir/a/x")).code == v2::Errc::not_dir);
  // 108 directory not empty.
  err = d.fails(cmd(v2::Op::remove, "/dir", "", v2::flag::dir));
  CHECK(err.code == v2::Errc::dir_not_empty);
  CHECK(v2::http_status(err.code) == 403);
  // 107 root is read only.
  CHECK(d.fails(cmd(v2::Op::set, "/", "x")).code == v2::Errc::root_read_only);
  CHECK(d.fails(cmd(v2::Op::remove, "/", "", v2::flag::recursive)).code ==
        v2::Errc::root_read_only);

  auto e = d.ok(cmd(v2::Op::remove, "/dir/empty", "", v2::flag::dir));
  CHECK(e.action == v2::Action::remove);
  CHECK(e.node.dir);
  e = d.ok(cmd(v2::Op::remove, "/dir", "", v2::flag::recursive));
  CHECK(e.prev_node->dir);
  CHECK(std::get<v2::Error>(d.query("/dir/sub/b")).code == v2::Errc::key_not_found);
  CHECK(d.fails(cmd(v2::Op::remove, "/dir", "", v2::flag::recursive)).code ==
        v2::Errc::key_not_found);
}

TEST_CASE("v2 store: TTL keys expire on cluster time only") {
  Driver d;
  auto c = cmd(v2::Op::set, "/tmp", "v", v2::flag::has_ttl);
  c.ttl_ms = 5000;
  auto e = d.ok(c);
  CHECK(e.node.expire_ms == 6000);
  CHECK(e.now_ms == 1000);
  CHECK(d.store.has_ttl_keys());

  d.now_ms = 5999;
  d.ok(cmd(v2::Op::sync, "/"));
  CHECK(std::holds_alternative<v2::Event>(d.query("/tmp")));

  uint64_t watch_id = 0;
  std::optional<v2::Event> seen;
  CHECK_FALSE(d.store.watch(
      "/tmp", false, 0, [&](const v2::Event& ev) { seen = ev; }, &watch_id));

  d.now_ms = 6000;  // the deadline: the next entry expires the key
  d.ok(cmd(v2::Op::sync, "/"));
  CHECK(std::get<v2::Error>(d.query("/tmp")).code == v2::Errc::key_not_found);
  CHECK_FALSE(d.store.has_ttl_keys());
  REQUIRE(seen);
  CHECK(seen->action == v2::Action::expire);
  CHECK(seen->node.modified_index == d.store.index());  // the expiry took the next index
  CHECK(seen->prev_node->value == "v");

  // An update without ttl makes a key permanent (etcd's UpdateTTL with no expiration).
  c.path = "/tmp2";
  d.ok(c);
  d.ok(cmd(v2::Op::update, "/tmp2", "w"));
  CHECK_FALSE(d.store.has_ttl_keys());
  d.now_ms = 100'000;
  d.ok(cmd(v2::Op::sync, "/"));
  CHECK(std::holds_alternative<v2::Event>(d.query("/tmp2")));
}

TEST_CASE("v2 store: refresh keeps the value and wakes no watcher") {
  Driver d;
  auto c = cmd(v2::Op::set, "/r", "v", v2::flag::has_ttl);
  c.ttl_ms = 1000;
  d.ok(c);
  uint64_t id = 0;
  bool fired = false;
  d.store.watch(
      "/r", false, 0, [&](const v2::Event&) { fired = true; }, &id);
  auto r = cmd(v2::Op::update, "/r", "", v2::flag::refresh | v2::flag::has_ttl);
  r.ttl_ms = 60'000;
  auto e = d.ok(r);
  CHECK(e.node.value == "v");
  CHECK(e.node.expire_ms == 61'000);
  CHECK_FALSE(fired);
  d.store.cancel_watch(id);
  CHECK(d.store.watcher_count() == 0);
}

TEST_CASE("v2 store: watch from history and for future events") {
  Driver d(3);                          // keeps 3 events
  d.ok(cmd(v2::Op::set, "/w/a", "1"));  // 1
  d.ok(cmd(v2::Op::set, "/w/b", "2"));  // 2
  d.ok(cmd(v2::Op::set, "/w/a", "3"));  // 3

  uint64_t id = 0;
  auto none = [](const v2::Event&) {};
  auto past = d.store.watch("/w/a", false, 2, none, &id);
  REQUIRE(past);
  auto ev = std::get<v2::Event>(*past);
  CHECK(ev.node.modified_index == 3);
  CHECK(ev.etcd_index == 3);
  past = d.store.watch("/w", true, 2, none, &id);
  CHECK(std::get<v2::Event>(*past).node.key == "/w/b");

  d.ok(cmd(v2::Op::set, "/other", "x"));  // 4: event 1 drops out of the history
  auto cleared = d.store.watch("/w/a", false, 1, none, &id);
  REQUIRE(cleared);
  auto err = std::get<v2::Error>(*cleared);
  CHECK(err.code == v2::Errc::event_index_cleared);
  CHECK(err.cause == "the requested history has been cleared [2/1]");

  std::vector<v2::Event> seen;
  auto rec = [&](const v2::Event& e) { seen.push_back(e); };
  CHECK_FALSE(d.store.watch("/w", true, 0, rec, &id));       // recursive
  CHECK_FALSE(d.store.watch("/w/b", false, 0, rec, &id));    // exact
  CHECK_FALSE(d.store.watch("/w/zzz", false, 0, rec, &id));  // another key in /w
  CHECK_FALSE(d.store.watch("/w/b/c", false, 0, rec, &id));  // below a deleted dir
  CHECK(d.store.watcher_count() == 4);
  d.ok(cmd(v2::Op::set, "/w/b", "new"));  // 5: fires the recursive and exact watchers
  CHECK(seen.size() == 2);
  // 6: deleting the directory ends every watch below it (as the history scan does).
  d.ok(cmd(v2::Op::remove, "/w", "", v2::flag::recursive));
  REQUIRE(seen.size() == 4);
  CHECK(seen[2].action == v2::Action::remove);
  CHECK(seen[3].node.key == "/w");
  CHECK(d.store.watcher_count() == 0);
}

TEST_CASE("v2 store: codec and snapshot round trips") {
  v2::Command c;
  c.op = v2::Op::compare_and_swap;
  c.path = "/x";
  c.value = "v";
  c.flags = v2::flag::has_ttl;
  c.ttl_ms = 123;
  c.prev_value = "p";
  c.prev_index = 9;
  c.prev_exist = true;
  auto back = v2::decode_command(v2::encode(c));
  REQUIRE(back);
  CHECK(back->prev_exist == std::optional<bool>(true));
  CHECK(back->ttl_ms == 123);
  CHECK(back->prev_value == "p");
  CHECK_FALSE(v2::decode_command(Buffer::copy_of(std::vector<uint8_t>{9, 1, 2})));

  Driver d;
  d.ok(cmd(v2::Op::set, "/a/b", "1"));
  auto t = cmd(v2::Op::set, "/a/t", "2", v2::flag::has_ttl);
  t.ttl_ms = 10'000;
  d.ok(t);
  d.ok(cmd(v2::Op::set, "/d", "", v2::flag::dir));
  Buffer snap = d.store.snapshot();

  V2Store other;
  other.restore(snap);
  CHECK(other.snapshot() == snap);
  CHECK(other.index() == d.store.index());
  CHECK(other.has_ttl_keys());
  CHECK(v2::encode(other.get("/", true, true)) == v2::encode(d.store.get("/", true, true)));
  uint64_t id = 0;
  auto past = other.watch(
      "/a/b", false, 1, [](const v2::Event&) {}, &id);
  REQUIRE(past);  // the history came along
  CHECK(std::get<v2::Event>(*past).node.value == "1");

  Buffer bad = snap.slice(0, snap.size() - 1);
  CHECK_THROWS_AS(other.restore(bad), SnapshotError);
  CHECK(other.snapshot() == snap);  // unchanged

  // Expiry continues after a restore, on cluster time.
  ApplyContext ctx = ctx_at(10, 20'000);
  other.advance_time(ctx);
  CHECK(std::get<v2::Error>(other.get("/a/t", false, false)).code == v2::Errc::key_not_found);
}

TEST_CASE("v2 store: malformed commands and writes as queries are rejected") {
  V2Store s;
  Buffer junk = Buffer::copy_of(std::vector<uint8_t>{0xff});
  CHECK(parse_result(s.apply(ctx_at(1, 0), junk)).status == BlockStatus::malformed);
  CHECK(parse_result(s.query(v2::encode(cmd(v2::Op::set, "/a", "b")))).status ==
        BlockStatus::write_in_query);
  CHECK(s.index() == 0);
}

TEST_CASE("v2 store: a batch entry applies its writes in order, each with its own index") {
  Driver d;
  d.ok(cmd(v2::Op::set, "/a", "0"));  // store index 1 at log index 1
  auto cas = cmd(v2::Op::compare_and_swap, "/a", "2");
  cas.prev_value = "wrong";
  std::vector<Buffer> commands{v2::encode(cmd(v2::Op::set, "/a", "1")), v2::encode(cas),
                               Buffer::copy_of(std::string_view("\x09garbage")),
                               v2::encode(cmd(v2::Op::set, "/b", "x"))};
  ApplyContext ctx = ctx_at(7, d.now_ms);  // the log index may run ahead of the store's
  auto split = v2::decode_batch_results(d.store.apply(ctx, v2::encode_batch(commands)));
  REQUIRE(split.has_value());
  CHECK(split->log_index == 7);
  REQUIRE(split->results.size() == 4);

  auto first = v2::decode_result(split->results[0]);
  REQUIRE(first.has_value());
  CHECK(std::get<v2::Event>(*first).node.modified_index == 2);
  CHECK(std::get<v2::Event>(*first).prev_node->value == "0");
  auto failed = v2::decode_result(split->results[1]);
  REQUIRE(failed.has_value());
  CHECK(std::get<v2::Error>(*failed).code == v2::Errc::test_failed);
  CHECK(parse_result(split->results[2]).status == BlockStatus::malformed);
  auto last = v2::decode_result(split->results[3]);
  REQUIRE(last.has_value());
  CHECK(std::get<v2::Event>(*last).node.modified_index == 3);  // the failed CAS took none
  CHECK(d.store.index() == 3);

  // The history holds each write under its own index, so waitIndex finds them one by one.
  uint64_t id = 0;
  auto seen = d.store.watch(
      "/b", false, 3, [](const v2::Event&) {}, &id);
  REQUIRE(seen.has_value());
  CHECK(std::get<v2::Event>(*seen).node.value == "x");
}

TEST_CASE("v2 store: malformed batches are refused whole") {
  Driver d;
  ApplyContext ctx = ctx_at(1, d.now_ms);
  std::vector<uint8_t> truncated{v2::batch_tag, 3, 1};
  CHECK(parse_result(d.store.apply(ctx, Buffer(std::move(truncated)))).status ==
        BlockStatus::malformed);
  std::vector<uint8_t> trailing{v2::batch_tag, 0, 7};
  CHECK(parse_result(d.store.apply(ctx, Buffer(std::move(trailing)))).status ==
        BlockStatus::malformed);
  CHECK(d.store.index() == 0);
  CHECK_FALSE(v2::decode_batch_results(make_result(BlockStatus::malformed)).has_value());
}

TEST_CASE("v2 store: paths are cleaned as etcd cleans them") {
  Driver d;
  d.ok(cmd(v2::Op::set, "/dir/key", "v"));
  for (const char* alias : {"dir/key", "/dir//key", "/dir/./key", "/x/../dir/key", "//dir/key/",
                            "/dir/key/.", "/dir/sub/../key"}) {
    INFO("alias " << alias);
    auto g = std::get<v2::Event>(d.query(alias));
    CHECK(g.node.key == "/dir/key");
    CHECK(g.node.value == "v");
  }
  // Names that only look like dot components are ordinary keys.
  auto e = d.ok(cmd(v2::Op::set, "/dir/.hidden..x", "w"));
  CHECK(e.node.key == "/dir/.hidden..x");
}

TEST_CASE("v2 store: replacing a TTL key drops its deadline and keeps its siblings") {
  Driver d;
  v2::Command ttl = cmd(v2::Op::set, "/d/k", "old");
  ttl.flags |= v2::flag::has_ttl;
  ttl.ttl_ms = 5000;
  d.ok(ttl);
  d.ok(cmd(v2::Op::set, "/d/other", "o"));
  auto e = d.ok(cmd(v2::Op::set, "/d/k", "new"));  // permanent now
  REQUIRE(e.prev_node);
  CHECK(e.prev_node->value == "old");
  CHECK(e.prev_node->expire_ms > 0);
  CHECK(e.node.expire_ms == 0);
  CHECK(e.node.created_index == e.node.modified_index);
  d.now_ms += 60000;  // far past the old deadline
  d.ok(cmd(v2::Op::set, "/d/tick", "t"));
  CHECK(std::get<v2::Event>(d.query("/d/k")).node.value == "new");
  auto list = std::get<v2::Event>(d.query("/d"));
  CHECK(list.node.nodes.size() == 3);
}
