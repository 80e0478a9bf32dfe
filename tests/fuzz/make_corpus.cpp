// make_corpus OUT_DIR: writes the seed corpora (OUT_DIR/<target>/<name>) with the real encoders,
// so seeds stay valid when a format changes: re-run it and commit the result. Built with the fuzz
// targets (-DCOHORT_FUZZ=ON); tests/fuzz/corpus/ holds its output plus any findings.
#include <boost/serialization/vector.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "blocks/block_status.hpp"
#include "blocks/counter_codec.hpp"
#include "blocks/lock_codec.hpp"
#include "blocks/map_codec.hpp"
#include "blocks/session_envelope.hpp"
#include "blocks/v2_codec.hpp"
#include "discovery/register.hpp"
#include "protocols/auth.hpp"
#include "protocols/builtin.hpp"
#include "protocols/gms.hpp"
#include "protocols/merge.hpp"
#include "protocols/raft/client_wire.hpp"
#include "protocols/raft/core/messages.hpp"
#include "protocols/raft/log/segment.hpp"
#include "protocols/sym_encrypt.hpp"
#include "stack/frame.hpp"
#include "stack/protocol_ids.hpp"
#include "stack/protocol_registry.hpp"

using namespace cohort;
namespace fs = std::filesystem;

namespace {

fs::path out_dir;

void put(const std::string& target, const std::string& name, std::span<const uint8_t> bytes) {
  fs::create_directories(out_dir / target);
  std::ofstream out(out_dir / target / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}
void put(const std::string& target, const std::string& name, std::string_view text) {
  put(target, name, std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

const Address a(0x1111, 0x2222, "A"), b(0x3333, 0x4444, "B");

std::unique_ptr<SymEncrypt> sym() {
  auto p = std::make_unique<SymEncrypt>();
  SymEncrypt::Key k{1, {}};
  k.bytes.fill(0x42);  // the fuzz target's key
  p->set_keys(k, std::nullopt);
  return p;
}

void frames() {
  auto enc = sym();
  std::vector<Message> msgs;
  msgs.emplace_back(Address(), Buffer::copy_of("hello"));
  msgs.emplace_back(Address(), Buffer());
  msgs.back().flags(Message::OOB | Message::DONT_BUNDLE);
  auto write = [](const std::string& name, std::string_view cluster, const Address& dest,
                  const std::vector<Message>& m) {
    codec::Writer w;
    encode_frame(w, cluster, a, dest, m);
    put("fuzz_frame", name, w.data());
  };
  write("group-one", "demo", Address(), {msgs[0]});
  write("unicast-bundle", "demo", b, msgs);
  write("sym-encrypted", "secure", b, {*enc->encrypt(Message(b, Buffer::copy_of("secret")))});
}

void sym_encrypt() {
  auto enc = sym();
  // mode 0: { varint n | header | sealed payload } of a real sealed message (no stack: null src).
  for (auto [name, text] : {std::pair{"sealed-short", "x"}, {"sealed-hello", "hello world"}}) {
    auto sealed = enc->encrypt(Message(Address(0x3333, 0x4444, "B"), Buffer::copy_of(text)));
    codec::Writer h;
    sealed->header<SymEncryptHeader>(protocol_id::sym_encrypt)->encode(h);
    codec::Writer w;
    w.u8(0);
    w.bytes(h.data());
    w.raw(sealed->payload().span());
    put("fuzz_sym_encrypt", name, w.data());
  }
  // mode 1: plaintexts as encrypt() lays them out (flags, headers, payload).
  {
    codec::Writer w;
    w.u8(1);
    w.varint(Message::OOB);
    w.varint(1);
    w.u16(protocol_id::sym_encrypt);  // a header the registry knows
    codec::Writer h;
    SymEncryptHeader(7, {}).encode(h);
    w.bytes(h.data());
    w.raw(std::span(reinterpret_cast<const uint8_t*>("payload"), 7));
    put("fuzz_sym_encrypt", "plain-with-header", w.data());
  }
  put("fuzz_sym_encrypt", "plain-empty", std::string_view("\x01\x00\x00", 3));
  // mode 2: flags + payload round trip.
  put("fuzz_sym_encrypt", "roundtrip", std::string_view("\x02\x05round trip payload", 21));
}

void raft_messages() {
  raft::Message m{"a", "b", raft::VoteRequest{3, 10, 2, true, false}};
  put("fuzz_raft_messages", "vote-request", raft::encode_message(m).span());
  m.body = raft::VoteResponse{3, true, false};
  put("fuzz_raft_messages", "vote-response", raft::encode_message(m).span());
  raft::AppendRequest ar{4, 10, 3, 9, {}};
  ar.entries.push_back({4, 11, raft::EntryType::command, Buffer::copy_of("set x=1")});
  ar.entries.push_back({4, 12, raft::EntryType::noop, Buffer()});
  m.body = ar;
  put("fuzz_raft_messages", "append-request", raft::encode_message(m).span());
  m.body = raft::AppendResponse{4, false, 0, 10, 3, 8};
  put("fuzz_raft_messages", "append-response", raft::encode_message(m).span());
  raft::SnapshotRequest sr{5, 100, 4, Buffer::copy_of("cfg"), 0, 8, Buffer::copy_of("snap"), false};
  m.body = sr;
  put("fuzz_raft_messages", "snapshot-request", raft::encode_message(m).span());
  m.body = raft::SnapshotResponse{5, 100, 4, false};
  put("fuzz_raft_messages", "snapshot-response", raft::encode_message(m).span());
  m.body = raft::TimeoutNow{6};
  put("fuzz_raft_messages", "timeout-now", raft::encode_message(m).span());
}

void configs() {
  put("fuzz_config", "loopback.xml", "<config>\n  <LOOPBACK/>\n</config>\n");
  put("fuzz_config", "encrypt.xml",
      "<?xml version=\"1.0\"?>\n<!-- c -->\n<config xmlns:xsi=\"x\">\n  <LOOPBACK "
      "views=\"true\"/>\n"
      "  <SYM_ENCRYPT key_env=\"${KEY_ENV:COHORT_SYM_KEY}\" key_version=\"${FUZZ_A,B:1}\"/>\n"
      "</config>\n");
  put("fuzz_config", "tcp.xml",
      "<config>\n  <TCP bind_addr=\"${COHORT_BIND_ADDR:127.0.0.1}\" bind_port=\"7800\"/>\n"
      "  <TCPPING initial_hosts=\"127.0.0.1[7800],127.0.0.1[7801]\"/>\n"
      "  <FD_ALL timeout=\"3s\" interval=\"500ms\"/>\n</config>\n");
  put("fuzz_config", "bad-unterminated.xml", "<config>\n  <A x=\"${FUZZ_EMPTY\"/>\n</config>\n");
}

void file_log() {
  // The target's first byte is its mode: 0 = the rest is the whole file, 3 = header added and
  // CRCs fixed by the target (here the records below are valid anyway).
  auto records = [](raft::Index first, int n, bool torn) {
    std::vector<uint8_t> f;
    f.push_back(0);
    raft::segment::encode_header(f, first);
    for (int i = 0; i < n; ++i)
      raft::segment::encode_record(f, {2, first + static_cast<raft::Index>(i),
                                       i == 0 ? raft::EntryType::noop : raft::EntryType::command,
                                       Buffer::copy_of("cmd" + std::to_string(i))});
    if (torn) f.resize(f.size() - 5);
    return f;
  };
  put("fuzz_file_log", "three-records", records(1, 3, false));
  put("fuzz_file_log", "torn-tail", records(1, 3, true));
  put("fuzz_file_log", "empty-segment", records(1, 0, false));
  auto fixed = records(1, 2, false);
  fixed[0] = 3;
  fixed.erase(fixed.begin() + 1, fixed.begin() + 1 + raft::segment::header_bytes);
  put("fuzz_file_log", "crc-fixed-records", fixed);
}

// fuzz_headers: u8 header id | header bytes. Structured seeds for the membership headers, and a
// few generic ones for every registered id (its decoders are small; the fuzzer finds the rest).
void headers() {
  auto header = [](uint16_t id, const Header& h, const std::string& name) {
    codec::Writer w;
    w.u8(static_cast<uint8_t>(id));
    h.encode(w);
    put("fuzz_headers", name, w.data());
  };
  View v(ViewId{a, 7}, {a, b});
  GmsHeader join(GmsHeader::join_req);
  header(protocol_id::gms, join, "gms-join-req");
  GmsHeader view(GmsHeader::view);
  view.new_view = v;
  view.merge = true;
  header(protocol_id::gms, view, "gms-merge-view");
  GmsHeader wait(GmsHeader::join_wait);
  wait.coord = a;
  header(protocol_id::gms, wait, "gms-join-wait");
  GmsHeader ack(GmsHeader::view_ack);
  ack.view_id = v.id();
  header(protocol_id::gms, ack, "gms-view-ack");
  GmsHeader reject(GmsHeader::join_reject);
  reject.reason = "AUTH: refused";
  header(protocol_id::gms, reject, "gms-join-reject");
  MergeHeader info(MergeHeader::info);
  info.view_id = v.id();
  info.coord = a;
  header(protocol_id::merge, info, "merge-info");
  MergeHeader rsp(MergeHeader::merge_rsp);
  rsp.merge_id = 99;
  rsp.view = v;
  header(protocol_id::merge, rsp, "merge-rsp");
  for (auto t : {AuthHeader::hello, AuthHeader::challenge, AuthHeader::token, AuthHeader::check,
                 AuthHeader::answer}) {
    AuthHeader h(t);
    h.nonce.fill(0x11);
    h.mac.fill(0x22);
    h.own_nonce.fill(0x33);
    header(protocol_id::auth, h, "auth-" + h.to_string().substr(5));
  }
  // Generic: the id alone, then small type bytes and varints.
  for (uint16_t id = 0; id < 256; ++id) {
    if (!HeaderRegistry::instance().decoder(id)) continue;
    std::string name = HeaderRegistry::instance().name(id);
    for (auto& c : name)
      if (c == '_') c = '-';
    for (int k = 0; k < 3; ++k) {
      std::vector<uint8_t> bytes{
          static_cast<uint8_t>(id), static_cast<uint8_t>(k + 1), 0x01, 0x02, 0x00, 0x05, 0x00};
      put("fuzz_headers", "generic-" + name + "-" + std::to_string(k), bytes);
    }
  }
}

// fuzz_client_wire: u8 decoder (0 request, 1 response, 2 status) | body.
void client_wire() {
  auto with = [](uint8_t mode, const Buffer& body, const std::string& name) {
    std::vector<uint8_t> bytes{mode};
    bytes.insert(bytes.end(), body.span().begin(), body.span().end());
    put("fuzz_client_wire", name, bytes);
  };
  raft::wire::Request req;
  req.req_id = 42;
  req.timeout_ms = 5000;
  req.payload = counter_codec::increment_and_get("c");
  with(0, raft::wire::encode(req), "request-submit");
  req.kind = raft::wire::RequestKind::read;
  req.mode = raft::ReadMode::lease;
  with(0, raft::wire::encode(req), "request-read");
  raft::wire::Response rsp;
  rsp.req_id = 42;
  rsp.index = 17;
  rsp.leader = "A";
  rsp.payload = Buffer::copy_of("result");
  with(1, raft::wire::encode(rsp), "response-reply");
  rsp.kind = raft::wire::ResponseKind::notification;
  with(1, raft::wire::encode(rsp), "response-notification");
  raft::RaftStatus st;
  st.raft_id = "A";
  st.leader = "B";
  st.term = 3;
  st.voters = {"A", "B", "C"};
  with(2, raft::wire::encode_status(st), "status");
}

// fuzz_block_codecs: u8 decoder (see the target) | input.
void block_codecs() {
  auto with = [](uint8_t mode, const Buffer& body, const std::string& name) {
    std::vector<uint8_t> bytes{mode};
    bytes.insert(bytes.end(), body.span().begin(), body.span().end());
    put("fuzz_block_codecs", name, bytes);
  };
  with(0, encode(Envelope::open_session("client-1")), "envelope-open");
  with(0, encode(Envelope::command(5, 2, 1, counter_codec::increment_and_get("c"))),
       "envelope-command");
  with(0, encode(Envelope::keep_alive(5, 2)), "envelope-keep-alive");
  with(1, counter_codec::compare_and_set("c", 1, 2), "counter-cas");
  with(1, counter_codec::add_and_get("c", -5), "counter-add");
  with(2, lock_codec::encode(LockCommand{LockOp::try_lock, "L"}), "lock-try");
  with(3, lock_codec::encode_grant(LockGrant{"L", 77}), "lock-grant");
  v2::Command v2c;
  v2c.op = v2::Op::compare_and_swap;
  v2c.path = "/dir/key";
  v2c.value = "v";
  v2c.prev_value = "old";
  v2c.prev_index = 3;
  v2c.prev_exist = true;
  with(4, v2::encode(v2c), "v2-cas");
  using StringMap = MapCodec<std::string, std::string>;
  with(5, StringMap::put("k", "v"), "map-put");
  with(5, StringMap::compare_and_set("k", std::string("v"), "w"), "map-cas");
  using NumberMap = MapCodec<int64_t, std::vector<int64_t>>;
  with(6, NumberMap::put(7, {1, 2, 3}), "map-numbers-put");
  with(7, make_result(BlockStatus::ok, counter_codec::value_body(9)), "result-session-id");
  with(8, make_result(BlockStatus::ok, counter_codec::value_body(9)), "result-counter");
  with(12, make_result(BlockStatus::ok, StringMap::value_body(std::string("v"))), "result-map");
  v2::Event ev;
  ev.node.key = "/k";
  ev.node.value = "v";
  with(13, make_result(BlockStatus::ok, v2::encode(v2::Reply(ev))), "result-v2-event");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR\n");
    return 2;
  }
  out_dir = argv[1];
  register_builtin_protocols();
  register_discovery_protocols();
  for (const auto& name : ProtocolRegistry::instance().names())
    ProtocolRegistry::instance().create(name);  // registers every header decoder
  frames();
  headers();
  client_wire();
  block_codecs();
  sym_encrypt();
  raft_messages();
  configs();
  file_log();
  return 0;
}
