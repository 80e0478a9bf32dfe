// make_corpus OUT_DIR: writes the seed corpora (OUT_DIR/<target>/<name>) with the real encoders,
// so seeds stay valid when a format changes: re-run it and commit the result. Built with the fuzz
// targets (-DCOHORT_FUZZ=ON); tests/fuzz/corpus/ holds its output plus any findings.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "protocols/builtin.hpp"
#include "protocols/raft/core/messages.hpp"
#include "protocols/raft/log/segment.hpp"
#include "protocols/sym_encrypt.hpp"
#include "stack/frame.hpp"
#include "stack/protocol_ids.hpp"

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

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus OUT_DIR\n");
    return 2;
  }
  out_dir = argv[1];
  register_builtin_protocols();
  frames();
  sym_encrypt();
  raft_messages();
  configs();
  file_log();
  return 0;
}
