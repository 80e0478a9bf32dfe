// SYM_ENCRYPT over the simulated network: members holding the key talk; the bytes on the wire
// carry neither payloads nor headers in clear; members without the key, with a wrong key or
// sending plaintext are cut off (dropped and counted both ways); a tampered byte is dropped and
// counted; keys rotate member by member with no message lost; key configuration errors.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "config/null_runtime.hpp"
#include "config/stack_builder.hpp"
#include "protocols/builtin.hpp"
#include "protocols/sym_encrypt.hpp"
#include "source_dir.hpp"
#include "stack/channel.hpp"
#include "stack/frame.hpp"
#include "stack/protocol_ids.hpp"
#include "stack/sim/sim_transport.hpp"
#include "stack/sim/sim_world.hpp"

using namespace cohort;
using namespace cohort::sim;

namespace {

// A header id of this suite's own (tests/ may share protocol_id::test between suites).
constexpr uint16_t tag_header_id = 1001;

// An upper protocol's header with a recognisable secret in it: must survive the round trip and
// never appear on the wire.
struct TagHeader : Header {
  explicit TagHeader(std::string t) : tag(std::move(t)) {}
  void encode(codec::Writer& w) const override { w.str(tag); }
  static HeaderPtr decode(codec::Reader& r) {
    auto t = r.str();
    if (!r.ok()) return nullptr;
    return std::make_shared<TagHeader>(std::move(t));
  }
  std::string tag;
};

const bool registered = [] {
  register_header<TagHeader>(tag_header_id, "SYM_ENCRYPT_TEST_TAG");
  return true;
}();

// Sits between the transport and SYM_ENCRYPT: records each message going down as the exact
// frame bytes the SIM transport puts on the simulated wire, and can corrupt one byte of the
// payload of messages going down (a tampering network).
class Capture : public Protocol {
 public:
  Capture() : Protocol("CAPTURE") {}
  using Protocol::down;
  using Protocol::up;
  void down(Message& msg) override {
    codec::Writer w;
    encode_frame(w, cluster_, local_, msg.dest(), std::span(&msg, 1));
    frames.push_back(w.take());
    if (tamper_offset) {
      auto bytes = std::vector<uint8_t>(msg.payload().span().begin(), msg.payload().span().end());
      bytes.at(*tamper_offset % bytes.size()) ^= 0x01;
      Message bad = msg;
      bad.payload(Buffer(std::move(bytes)));
      return Protocol::down(bad);
    }
    Protocol::down(msg);
  }
  std::any down(Event& ev) override {
    if (ev.type == event::set_local_address) local_ = ev.get<Address>();
    if (ev.type == event::connect) cluster_ = ev.get<std::string>();
    if (ev.type == event::send_to_physical)
      to_physical.push_back(ev.get<std::pair<std::string, Message>>().second);
    return Protocol::down(ev);
  }
  std::vector<std::vector<uint8_t>> frames;
  std::vector<Message> to_physical;  // discovery requests sent to a physical address
  std::optional<size_t> tamper_offset;

 private:
  Address local_;
  std::string cluster_;
};

// Above SYM_ENCRYPT: tags every message going down with a TagHeader.
class Tagger : public Protocol {
 public:
  Tagger() : Protocol("TAGGER") {}
  using Protocol::down;
  void down(Message& msg) override {
    msg.put_header(tag_header_id, std::make_shared<TagHeader>("HEADER-SECRET-TAG"));
    Protocol::down(msg);
  }
};

struct KeyDir {
  KeyDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "cohort-sym-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~KeyDir() { std::filesystem::remove_all(path); }
  // A key file of 32 bytes all equal to `fill`, as hex text (or raw bytes).
  std::string key(uint8_t fill, bool raw = false) {
    auto p = path / fmt::format("key-{:02x}{}", fill, raw ? ".bin" : ".hex");
    std::ofstream out(p, std::ios::binary);
    if (raw)
      out << std::string(32, static_cast<char>(fill));
    else
      out << hex(fill) << "\n";
    return p.string();
  }
  static std::string hex(uint8_t fill) {
    std::string s;
    for (int i = 0; i < 32; ++i)
      s += fmt::format("{:02x}", fill);
    return s;
  }
  std::filesystem::path path;
};

struct Node {
  std::shared_ptr<SimRuntime> rt;
  std::unique_ptr<Channel> ch;
  SymEncrypt* enc = nullptr;  // null: a member without SYM_ENCRYPT (sends plaintext)
  Capture* cap = nullptr;
  std::vector<std::string> received;
  std::vector<std::string> tags;
};

// key_attrs: SYM_ENCRYPT attributes; empty = no SYM_ENCRYPT in the stack.
void start_node(SimWorld& world, Node& n, const std::string& name,
                const std::map<std::string, std::string>& key_attrs) {
  n.rt = world.add_node(name);
  auto stack = std::make_unique<ProtocolStack>(n.rt);
  stack->add(std::make_unique<SimTransport>());
  auto cap = std::make_unique<Capture>();
  n.cap = cap.get();
  stack->add(std::move(cap));
  if (!key_attrs.empty()) {
    auto enc = std::make_unique<SymEncrypt>();
    for (auto& [k, v] : key_attrs)
      REQUIRE(enc->set_attribute(k, v) == "");
    n.enc = enc.get();
    stack->add(std::move(enc));
  }
  stack->add(std::make_unique<Tagger>());
  stack->init();
  n.ch = std::make_unique<Channel>(std::move(stack));
  n.ch->set_name(name);
  n.ch->on_message([&n](Message& m) {
    n.received.push_back(m.payload().str());
    if (auto* t = m.header<TagHeader>(tag_header_id)) n.tags.push_back(t->tag);
  });
  n.ch->connect("secure", nullptr);
}

void send(Node& n, const Address& dest, const std::string& text) {
  Message m(dest, Buffer::copy_of(text));
  n.ch->stack().down(m);
}

bool contains(const std::vector<uint8_t>& hay, std::string_view needle) {
  return std::search(hay.begin(), hay.end(), needle.begin(), needle.end()) != hay.end();
}

size_t count_of(const std::vector<std::string>& v, const std::string& s) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), s));
}

}  // namespace

TEST_CASE("SYM_ENCRYPT: members with the key exchange messages and the wire carries no plaintext") {
  KeyDir keys;
  SimWorld world(11);
  std::vector<Node> nodes(3);
  std::string hex_key = keys.key(0x42), raw_key = keys.key(0x42, true);
  for (size_t i = 0; i < nodes.size(); ++i)  // the same key, as hex text and as raw bytes
    start_node(world, nodes[i], fmt::format("N{}", i), {{"key_file", i ? hex_key : raw_key}});
  world.run_for(1ms);
  for (size_t i = 0; i < nodes.size(); ++i)
    send(nodes[i], Address(), fmt::format("SECRET-PAYLOAD-group-{}", i));
  send(nodes[0], nodes[2].ch->address(), "SECRET-PAYLOAD-unicast");
  world.run_for(10ms);

  for (size_t i = 0; i < nodes.size(); ++i) {
    auto& n = nodes[i];
    INFO("node " << i);
    CHECK(n.received.size() == (i == 2 ? 4u : 3u));
    for (size_t j = 0; j < nodes.size(); ++j)
      CHECK(count_of(n.received, fmt::format("SECRET-PAYLOAD-group-{}", j)) == 1);
    // Upper protocols' headers survive encryption.
    CHECK(n.tags.size() == n.received.size());
    CHECK(count_of(n.tags, "HEADER-SECRET-TAG") == n.tags.size());
    CHECK(n.enc->stat("decrypt_failed") == 0);
    CHECK(n.enc->stat("decrypted") == n.received.size());
  }
  CHECK(count_of(nodes[2].received, "SECRET-PAYLOAD-unicast") == 1);
  CHECK(nodes[0].enc->stat("encrypted") == 2);

  size_t frames = 0;
  for (auto& n : nodes)
    for (auto& f : n.cap->frames) {
      ++frames;
      CHECK_FALSE(contains(f, "SECRET"));
      CHECK_FALSE(contains(f, "TAG"));
      CHECK(contains(f, "secure"));  // the frame itself is really captured (cluster in clear)
    }
  CHECK(frames == 4);
}

TEST_CASE("SYM_ENCRYPT: members without the key or with a wrong key or in clear are cut off") {
  KeyDir keys;
  SimWorld world(12);
  std::vector<Node> nodes(4);
  start_node(world, nodes[0], "good0", {{"key_file", keys.key(0x42)}});
  start_node(world, nodes[1], "good1", {{"key_file", keys.key(0x42)}});
  start_node(world, nodes[2], "wrong", {{"key_file", keys.key(0x99)}});  // same version 1
  start_node(world, nodes[3], "clear", {});                              // no SYM_ENCRYPT
  world.run_for(1ms);
  for (auto& n : nodes)
    send(n, Address(), "hello from " + n.rt->name());
  send(nodes[2], nodes[0].ch->address(), "wrong to good0");
  send(nodes[3], nodes[0].ch->address(), "clear to good0");
  world.run_for(10ms);

  auto& good0 = nodes[0];
  auto& good1 = nodes[1];
  CHECK(good0.received.size() == 2);
  CHECK(good1.received.size() == 2);
  for (auto* g : {&good0, &good1}) {
    CHECK(count_of(g->received, "hello from good0") == 1);
    CHECK(count_of(g->received, "hello from good1") == 1);
  }
  // The wrong-key member reads only its own messages; the clear member gets only ciphertext.
  CHECK(nodes[2].received == std::vector<std::string>{"hello from wrong"});
  for (auto& r : nodes[3].received) {
    CHECK(r.find("good") == std::string::npos);
    CHECK(r.find("wrong") == std::string::npos);
  }

  CHECK(good0.enc->stat("decrypt_failed") == 2);  // the wrong member's group + unicast
  CHECK(good0.enc->stat("unencrypted_dropped") == 2);
  CHECK(good1.enc->stat("decrypt_failed") == 1);
  CHECK(good1.enc->stat("unencrypted_dropped") == 1);
  CHECK(nodes[2].enc->stat("decrypt_failed") == 2);  // good0's and good1's
  CHECK(nodes[2].enc->stat("unencrypted_dropped") == 1);
}

TEST_CASE(
    "SYM_ENCRYPT: a tampered byte or a replay to another member or an unknown key version is "
    "dropped") {
  KeyDir keys;
  SimWorld world(13);
  std::vector<Node> nodes(3);
  for (size_t i = 0; i < nodes.size(); ++i)
    start_node(world, nodes[i], fmt::format("N{}", i), {{"key_file", keys.key(0x42)}});
  world.run_for(1ms);

  SUBCASE("tampered ciphertext and tampered tag are dropped and counted") {
    for (size_t offset : {0u, 5u, 1000u, 1023u + 16u}) {  // body bytes and the tag's last byte
      nodes[0].cap->tamper_offset = offset;
      send(nodes[0], Address(), std::string(1024, 'x'));
    }
    world.run_for(10ms);
    for (auto& n : nodes) {
      CHECK(n.received.empty());
      CHECK(n.enc->stat("decrypt_failed") == 4);
    }
  }

  SUBCASE("a message captured on the way to N1 and replayed to N2 fails authentication") {
    send(nodes[0], nodes[1].ch->address(), "for N1 only");
    world.run_for(10ms);
    REQUIRE(nodes[1].received.size() == 1);
    REQUIRE(nodes[0].cap->frames.size() == 1);
    std::string error;
    auto frame = decode_frame(Buffer::copy_of(nodes[0].cap->frames[0]), error);
    REQUIRE(frame);
    Message replay = frame->batch.messages[0];
    replay.dest(nodes[2].ch->address());
    nodes[0].ch->stack().bottom()->down(replay);  // straight to the transport, still sealed
    world.run_for(10ms);
    CHECK(nodes[2].received.empty());
    CHECK(nodes[2].enc->stat("decrypt_failed") == 1);
  }

  SUBCASE("a sender whose current key version nobody holds") {
    SymEncrypt::Key k{7, {}};
    k.bytes.fill(0x42);
    nodes[0].enc->set_keys(k, std::nullopt);
    send(nodes[0], Address(), "v7");
    world.run_for(10ms);
    CHECK(nodes[0].received == std::vector<std::string>{"v7"});
    CHECK(nodes[1].received.empty());
    CHECK(nodes[1].enc->stat("unknown_key_version") == 1);
  }
}

TEST_CASE("SYM_ENCRYPT: keys rotate member by member with both accepted and no message lost") {
  KeyDir keys;
  std::string k1 = keys.key(0x11), k2 = keys.key(0x22);
  SimWorld world(14);
  std::vector<Node> nodes(3);
  for (size_t i = 0; i < nodes.size(); ++i)
    start_node(world, nodes[i], fmt::format("N{}", i), {{"key_file", k1}, {"key_version", "1"}});
  world.run_for(1ms);

  int seq = 0;
  std::vector<std::string> sent;
  // Every member sends to the group after each step; every message must reach everyone.
  auto round = [&] {
    for (auto& n : nodes) {
      auto text = fmt::format("m{}", seq++);
      sent.push_back(text);
      send(n, Address(), text);
      n.rt->schedule(50us, [&n, &sent, &seq] {
        auto t = fmt::format("m{}", seq++);
        sent.push_back(t);
        send(n, Address(), t);
      });
    }
    world.run_for(200us);  // steps happen while messages are in flight
  };
  auto reconfigure = [&](Node& n, std::map<std::string, std::string> attrs) {
    for (auto& [k, v] : attrs)
      REQUIRE(n.enc->set_attribute(k, v) == "");
    n.enc->reload_keys();
    round();
  };

  round();
  // 1) one by one, accept key 2 while still sending with key 1.
  for (auto& n : nodes)
    reconfigure(n, {{"old_key_file", k2}, {"old_key_version", "2"}});
  // 2) one by one, send with key 2 and keep accepting key 1.
  for (auto& n : nodes)
    reconfigure(
        n,
        {{"key_file", k2}, {"key_version", "2"}, {"old_key_file", k1}, {"old_key_version", "1"}});
  // 3) one by one, drop key 1.
  for (auto& n : nodes)
    reconfigure(n, {{"old_key_file", ""}, {"old_key_version", "0"}});
  world.run_for(10ms);

  for (auto& n : nodes) {
    INFO(n.rt->name());
    CHECK(n.enc->current_key_version() == 2);
    CHECK(n.received.size() == sent.size());
    CHECK(n.enc->stat("decrypt_failed") == 0);
    CHECK(n.enc->stat("unknown_key_version") == 0);
    CHECK(n.enc->stat("accepted_key_used") > 0);
  }
  auto expected = sent;
  std::sort(expected.begin(), expected.end());
  auto got = nodes[1].received;
  std::sort(got.begin(), got.end());
  CHECK(got == expected);

  // After step 3 a straggler still on key 1 is no longer accepted.
  SymEncrypt::Key old{1, {}};
  old.bytes.fill(0x11);
  nodes[0].enc->set_keys(old, std::nullopt);
  send(nodes[0], Address(), "late");
  world.run_for(10ms);
  CHECK(nodes[1].enc->stat("unknown_key_version") == 1);
}

TEST_CASE("SYM_ENCRYPT: batches are decrypted message by message and bad ones dropped") {
  KeyDir keys;
  SimWorld world(15);
  Node n;
  start_node(world, n, "A", {{"key_file", keys.key(0x42)}});
  world.run_for(1ms);
  auto* enc = n.enc;
  MessageBatch batch;
  batch.src = n.ch->address();
  for (int i = 0; i < 4; ++i) {
    Message m(Address(), Buffer::copy_of(fmt::format("b{}", i)));
    auto sealed = enc->encrypt(m);
    REQUIRE(sealed);
    if (i == 1) {  // tampered
      auto bytes =
          std::vector<uint8_t>(sealed->payload().span().begin(), sealed->payload().span().end());
      bytes[0] ^= 0x80;
      sealed->payload(Buffer(std::move(bytes)));
    }
    if (i == 2) sealed = Message(Address(), Buffer::copy_of("plain"));  // no header
    sealed->src(batch.src);
    batch.messages.push_back(*sealed);
  }
  enc->up(batch);
  CHECK(n.received == std::vector<std::string>{"b0", "b3"});
  CHECK(enc->stat("decrypt_failed") == 1);
  CHECK(enc->stat("unencrypted_dropped") == 1);
}

TEST_CASE("SYM_ENCRYPT: messages sent to a physical address (discovery) are sealed too") {
  KeyDir keys;
  SimWorld world(16);
  Node n;
  start_node(world, n, "A", {{"key_file", keys.key(0x42)}});
  world.run_for(1ms);
  Message req(Address(), Buffer::copy_of("DISCOVERY-SECRET"));
  req.set(Message::INTERNAL);
  Event ev(event::send_to_physical, std::pair<std::string, Message>("127.0.0.1:1", req));
  n.enc->down(ev);
  auto* cap = n.cap;
  REQUIRE(cap->to_physical.size() == 1);
  Message sealed = cap->to_physical[0];
  CHECK(sealed.header<SymEncryptHeader>(protocol_id::sym_encrypt) != nullptr);
  CHECK(sealed.payload().str().find("DISCOVERY-SECRET") == std::string::npos);
  sealed.src(n.ch->address());
  auto opened = n.enc->decrypt(sealed);  // as a receiver sees it: a group message
  REQUIRE(opened);
  CHECK(opened->payload().str() == "DISCOVERY-SECRET");
  CHECK(opened->has(Message::INTERNAL));
}

TEST_CASE("SYM_ENCRYPT: nonces are a per-member random prefix and a counter and never repeat") {
  KeyDir keys;
  SimWorld world(17);
  Node n1, n2;
  start_node(world, n1, "A", {{"key_file", keys.key(0x42)}});
  start_node(world, n2, "B", {{"key_file", keys.key(0x42)}});
  world.run_for(1ms);
  std::set<SymEncryptHeader::Nonce> seen;
  SymEncryptHeader::Nonce first{};
  for (int i = 0; i < 1000; ++i) {
    auto sealed = n1.enc->encrypt(Message(Address(), Buffer::copy_of("x")));
    REQUIRE(sealed);
    auto nonce = sealed->header<SymEncryptHeader>(protocol_id::sym_encrypt)->nonce();
    if (i == 0) first = nonce;
    CHECK(std::equal(nonce.begin(), nonce.begin() + 16, first.begin()));  // same prefix
    CHECK(seen.insert(nonce).second);
  }
  auto other = n2.enc->encrypt(Message(Address(), Buffer::copy_of("x")));
  auto other_nonce = other->header<SymEncryptHeader>(protocol_id::sym_encrypt)->nonce();
  CHECK_FALSE(std::equal(other_nonce.begin(), other_nonce.begin() + 16, first.begin()));
}

TEST_CASE("SYM_ENCRYPT: key configuration errors name the attribute") {
  register_builtin_protocols();
  KeyDir keys;
  auto init_error = [](std::map<std::string, std::string> attrs) -> std::string {
    SymEncrypt p;
    for (auto& [k, v] : attrs)
      if (auto e = p.set_attribute(k, v); !e.empty()) return k + ": " + e;
    try {
      p.init();
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "";
  };
  CHECK(init_error({{"key_file", keys.key(0x42)}}) == "");
  CHECK(init_error({}).starts_with("key_file: no key"));
  CHECK(init_error({{"key_file", KeyDir::hex(0x42)}})
            .starts_with("key_file: looks like an inline key"));
  CHECK(init_error({{"key_env", KeyDir::hex(0xab)}}).starts_with("key_env: not an environment"));
  CHECK(init_error({{"key_file", "/nonexistent/key"}}).starts_with("key_file: cannot read"));
  CHECK(init_error({{"key_file", keys.key(0x42)}, {"key_env", "X"}})
            .starts_with("key_file: set key_file or key_env"));
  CHECK(
      init_error({{"key_file", keys.key(0x42)}, {"key_version", "0"}}).starts_with("key_version:"));
  CHECK(init_error({{"key_file", keys.key(0x42)},
                    {"old_key_file", keys.key(0x43)},
                    {"old_key_version", "1"}})
            .starts_with("old_key_version: must differ"));
  {
    std::ofstream bad(keys.path / "short");
    bad << "abcd\n";
  }
  CHECK(init_error({{"key_file", (keys.path / "short").string()}})
            .find("must hold 32 raw bytes or 64 hex digits") != std::string::npos);

  ::unsetenv("COHORT_SYM_TEST_KEY");
  CHECK(init_error({{"key_env", "COHORT_SYM_TEST_KEY"}}).find("is not set") != std::string::npos);
  ::setenv("COHORT_SYM_TEST_KEY", "zz", 1);
  CHECK(init_error({{"key_env", "COHORT_SYM_TEST_KEY"}}).find("64 hex") != std::string::npos);
  ::setenv("COHORT_SYM_TEST_KEY", KeyDir::hex(0x42).c_str(), 1);
  CHECK(init_error({{"key_env", "COHORT_SYM_TEST_KEY"}}) == "");

  SUBCASE("reload_keys keeps the keys on error") {
    SymEncrypt p;
    REQUIRE(p.set_attribute("key_env", "COHORT_SYM_TEST_KEY") == "");
    p.init();
    REQUIRE(p.set_attribute("key_version", "5") == "");
    REQUIRE(p.set_attribute("key_env", "COHORT_SYM_UNSET_VARIABLE") == "");
    CHECK_THROWS_AS(p.reload_keys(), std::invalid_argument);
    CHECK(p.current_key_version() == 1);
  }
  ::unsetenv("COHORT_SYM_TEST_KEY");
}

TEST_CASE("SYM_ENCRYPT: stock config/loopback-encrypt.xml builds with the key in the environment") {
  register_builtin_protocols();
  auto path = std::filesystem::path(cohort::test::source_dir()) / "config/loopback-encrypt.xml";
  ::setenv("COHORT_SYM_KEY", KeyDir::hex(0x42).c_str(), 1);
  auto stack = build_stack(load_config_file(path.string()), std::make_shared<NullRuntime>());
  ::unsetenv("COHORT_SYM_KEY");
  REQUIRE(stack->find<SymEncrypt>() != nullptr);
  CHECK(stack->bottom()->name() == "LOOPBACK");
  CHECK(stack->protocols().at(1)->name() == "SYM_ENCRYPT");
}
