#include "protocols/sym_encrypt.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <stdexcept>

#include "stack/protocol_ids.hpp"

namespace cohort {

static_assert(SymEncryptHeader::nonce_bytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(SymEncrypt::key_bytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(SymEncrypt::tag_bytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);

namespace {

constexpr std::string_view ad_label = "cohort/sym_encrypt/1";
constexpr size_t max_key_file_bytes = 4096;  // a key file is 32 or 64(+newline) bytes

void ensure_sodium() {
  if (sodium_init() < 0) throw std::runtime_error("SYM_ENCRYPT: libsodium failed to initialise");
}

// Associated data: binds a ciphertext to its key version, sender, destination and cluster.
void make_ad(codec::Writer& w, uint32_t version, const Address& src, const Address& dest,
             std::string_view cluster) {
  w.raw(std::span(reinterpret_cast<const uint8_t*>(ad_label.data()), ad_label.size()));
  w.u32(version);
  w.u64(src.hi());
  w.u64(src.lo());
  w.u8(dest.is_null() ? 0 : 1);
  if (!dest.is_null()) {
    w.u64(dest.hi());
    w.u64(dest.lo());
  }
  w.str(cluster);
}

std::string trim(std::string s) {
  auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && ws(s.back()))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && ws(s[i]))
    ++i;
  return s.substr(i);
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// 64 hex digits → 32 bytes.
bool parse_hex_key(std::string_view s, std::array<uint8_t, SymEncrypt::key_bytes>& out) {
  if (s.size() != 2 * SymEncrypt::key_bytes) return false;
  for (char c : s)
    if (!is_hex(c)) return false;
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<uint8_t>(hex_value(s[2 * i]) << 4 | hex_value(s[2 * i + 1]));
  return true;
}

// A long run of hex digits, or anything else without a path character that is as long as a key,
// is taken for a key pasted into the XML.
bool looks_like_inline_key(std::string_view s) {
  if (s.size() < 32) return false;
  size_t hex = 0;
  for (char c : s)
    hex += is_hex(c);
  if (hex == s.size()) return true;
  return s.find('/') == std::string_view::npos && s.find('.') == std::string_view::npos;
}

bool is_env_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
      return false;
  return true;
}

}  // namespace

// ---- header ----

void SymEncryptHeader::encode(codec::Writer& w) const {
  w.varint(key_version_);
  w.raw(nonce_);
}

HeaderPtr SymEncryptHeader::decode(codec::Reader& r) {
  auto version = static_cast<uint32_t>(
      r.varint_max(std::numeric_limits<uint32_t>::max(), "key version out of range"));
  auto n = r.raw(nonce_bytes);
  if (!r.ok()) return nullptr;
  Nonce nonce;
  std::memcpy(nonce.data(), n.data(), nonce_bytes);
  return std::make_shared<SymEncryptHeader>(version, nonce);
}

std::string SymEncryptHeader::to_string() const {
  return fmt::format("SYM_ENCRYPT[key_version={}]", key_version_);
}

void register_sym_encrypt_header() {
  register_header<SymEncryptHeader>(protocol_id::sym_encrypt, "SYM_ENCRYPT");
}

// ---- protocol ----

SymEncrypt::SymEncrypt()
    : Protocol("SYM_ENCRYPT"),
      encrypted_(counter("encrypted", "messages encrypted and sent down")),
      decrypted_(counter("decrypted", "messages decrypted and passed up")),
      decrypt_failed_(counter("decrypt_failed",
                              "messages dropped: authentication failed (tampered or wrong "
                              "key, or replayed to another member or cluster)")),
      unknown_key_version_(
          counter("unknown_key_version", "messages dropped: sealed with a key version not held")),
      unencrypted_dropped_(
          counter("unencrypted_dropped", "messages dropped: no SYM_ENCRYPT header (plaintext)")),
      malformed_(counter("malformed",
                         "messages dropped: authentic but undecodable plaintext "
                         "(e.g. a header id this member does not know)")),
      accepted_key_used_(counter(
          "accepted_key_used", "messages decrypted with the accepted (old) key during rotation")) {
  ensure_sodium();
  register_sym_encrypt_header();
  // From libsodium's CSPRNG, not the runtime's seeded PRNG: this is cryptography (a repeated
  // nonce breaks the cipher), and the ciphertext bytes never influence a protocol decision.
  randombytes_buf(nonce_prefix_.data(), nonce_prefix_.size());
  declare("key_file", key_file_,
          "file holding the current key: 32 raw bytes or 64 hex digits (not the key itself)");
  declare("key_env", key_env_,
          "name of an environment variable holding the current key as 64 hex digits");
  declare("key_version", key_version_,
          "version (1..2^32-1) of the current key; sent with every message");
  declare("old_key_file", old_key_file_,
          "file holding a second key accepted on receive (rotation); like key_file");
  declare("old_key_env", old_key_env_,
          "environment variable holding a second key accepted on receive; like key_env");
  declare("old_key_version", old_key_version_, "version of the second (accepted) key");
}

SymEncrypt::~SymEncrypt() {
  sodium_memzero(current_.bytes.data(), current_.bytes.size());
  if (accepted_) sodium_memzero(accepted_->bytes.data(), accepted_->bytes.size());
}

void SymEncrypt::init() {
  reload_keys();
}

std::optional<SymEncrypt::Key> SymEncrypt::load_key(
    const std::string& file_attr, const std::string& file, const std::string& env_attr,
    const std::string& env, const std::string& version_attr, uint64_t version) const {
  auto bad = [](const std::string& attr, const std::string& what) {
    return std::invalid_argument(attr + ": " + what);
  };
  if (file.empty() && env.empty()) return std::nullopt;
  if (!file.empty() && !env.empty())
    throw bad(file_attr, fmt::format("set {} or {}, not both", file_attr, env_attr));
  if (version == 0 || version > std::numeric_limits<uint32_t>::max())
    throw bad(version_attr, "must be between 1 and 4294967295");
  Key key;
  key.version = static_cast<uint32_t>(version);
  if (!file.empty()) {
    if (looks_like_inline_key(file))
      throw bad(file_attr,
                "looks like an inline key; the key never goes in the XML: give a file path");
    std::ifstream in(file, std::ios::binary);
    if (!in) throw bad(file_attr, fmt::format("cannot read '{}': {}", file, std::strerror(errno)));
    std::string text(max_key_file_bytes + 1, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<size_t>(in.gcount()));
    if (text.size() == key_bytes) {
      std::memcpy(key.bytes.data(), text.data(), key_bytes);
    } else if (!parse_hex_key(trim(text), key.bytes)) {
      sodium_memzero(text.data(), text.size());
      throw bad(file_attr, fmt::format("'{}' must hold 32 raw bytes or 64 hex digits", file));
    }
    sodium_memzero(text.data(), text.size());
    return key;
  }
  if (!is_env_name(env) || looks_like_inline_key(env))
    throw bad(env_attr, "not an environment variable name (the key itself never goes in the XML)");
  const char* value = std::getenv(env.c_str());
  if (!value) throw bad(env_attr, fmt::format("environment variable {} is not set", env));
  if (!parse_hex_key(trim(value), key.bytes))
    throw bad(env_attr, fmt::format("environment variable {} must hold 64 hex digits", env));
  return key;
}

void SymEncrypt::reload_keys() {
  auto current = load_key("key_file", key_file_, "key_env", key_env_, "key_version", key_version_);
  if (!current)
    throw std::invalid_argument("key_file: no key: set key_file or key_env (never the key itself)");
  auto accepted = load_key("old_key_file", old_key_file_, "old_key_env", old_key_env_,
                           "old_key_version", old_key_version_);
  if (accepted && accepted->version == current->version)
    throw std::invalid_argument("old_key_version: must differ from key_version");
  set_keys(*current, accepted);
  sodium_memzero(current->bytes.data(), current->bytes.size());
  if (accepted) sodium_memzero(accepted->bytes.data(), accepted->bytes.size());
}

void SymEncrypt::set_keys(const Key& current, const std::optional<Key>& accepted) {
  current_ = current;
  if (accepted_) sodium_memzero(accepted_->bytes.data(), accepted_->bytes.size());
  accepted_ = accepted;
  have_key_ = true;
}

const SymEncrypt::Key* SymEncrypt::key_for(uint32_t version) const {
  if (version == current_.version) return &current_;
  if (accepted_ && accepted_->version == version) return &*accepted_;
  return nullptr;
}

std::any SymEncrypt::down(Event& ev) {
  if (ev.type == event::set_local_address) local_ = ev.get<Address>();
  if (ev.type == event::connect) cluster_ = ev.get<std::string>();
  if (ev.type == event::send_to_physical) {
    // Discovery requests to a physical address travel inside an event: seal them too (else they
    // leave in clear and every receiver drops them). The transport sends them as group messages,
    // so they are sealed for a null destination.
    const auto& [physical, inner] = ev.get<std::pair<std::string, Message>>();
    Message group = inner;
    group.dest(Address());
    auto out = encrypt(group);
    if (!out) return {};
    ++encrypted_;
    Event sealed(event::send_to_physical, std::pair<std::string, Message>(physical, *out));
    return Protocol::down(sealed);
  }
  return Protocol::down(ev);
}

std::optional<Message> SymEncrypt::encrypt(const Message& msg) {
  if (!have_key_) return std::nullopt;  // programmer error guarded by init(); never send clear
  // Plaintext: flags, headers (the frame's own per-header codec), payload; room for the tag.
  codec::Writer w(msg.payload().size() + 64 + tag_bytes);
  w.varint(msg.flags());
  w.varint(msg.header_count());
  for (size_t i = 0; i < msg.header_count(); ++i) {
    const auto& slot = msg.header_at(i);
    w.u16(slot.id);
    codec::Writer hw;
    slot.header->encode(hw);
    w.bytes(hw.data());
  }
  w.raw(msg.payload().span());
  std::vector<uint8_t>& data = w.data();
  size_t plain_len = data.size();
  data.resize(plain_len + tag_bytes);

  // Nonce = this member's random 16-byte prefix | a 64-bit message counter: unique per sender
  // without a getrandom call per message (XChaCha's 192-bit nonce leaves room for a 128-bit
  // random part, so two senders sharing a key collide with negligible probability).
  SymEncryptHeader::Nonce nonce;
  std::memcpy(nonce.data(), nonce_prefix_.data(), nonce_prefix_.size());
  uint64_t n = nonce_counter_++;
  for (size_t i = 0; i < 8; ++i)
    nonce[nonce_prefix_.size() + i] = static_cast<uint8_t>(n >> (8 * i));
  codec::Writer ad(96 + cluster_.size());
  make_ad(ad, current_.version, local_, msg.dest(), cluster_);
  unsigned long long tag_len = 0;
  // In place: libsodium allows the ciphertext to overwrite the plaintext.
  crypto_aead_xchacha20poly1305_ietf_encrypt_detached(
      data.data(), data.data() + plain_len, &tag_len, data.data(), plain_len, ad.data().data(),
      ad.size(), nullptr, nonce.data(), current_.bytes.data());

  Message out(msg.dest(), w.take_buffer());
  out.src(local_).flags(msg.flags());
  out.put_header(protocol_id::sym_encrypt,
                 std::make_shared<SymEncryptHeader>(current_.version, nonce));
  return out;
}

void SymEncrypt::down(Message& msg) {
  auto out = encrypt(msg);
  if (!out) return;
  ++encrypted_;
  Protocol::down(*out);
}

std::optional<Message> SymEncrypt::decrypt(const Message& msg) {
  const auto* hdr = msg.header<SymEncryptHeader>(protocol_id::sym_encrypt);
  if (!hdr) return ++unencrypted_dropped_, std::nullopt;
  const Key* key = key_for(hdr->key_version());
  if (!key) return ++unknown_key_version_, std::nullopt;
  const Buffer& sealed = msg.payload();
  if (sealed.size() < tag_bytes) return ++decrypt_failed_, std::nullopt;
  size_t plain_len = sealed.size() - tag_bytes;
  codec::Writer ad(96 + cluster_.size());
  make_ad(ad, key->version, msg.src(), msg.dest(), cluster_);
  std::vector<uint8_t> plain(plain_len);
  if (crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
          plain.data(), nullptr, sealed.data(), plain_len, sealed.data() + plain_len,
          ad.data().data(), ad.size(), hdr->nonce().data(), key->bytes.data()) != 0)
    return ++decrypt_failed_, std::nullopt;

  auto out = decode_plaintext(Buffer(std::move(plain)), msg);
  if (!out) return ++malformed_, std::nullopt;
  if (key != &current_) ++accepted_key_used_;
  ++decrypted_;
  return out;
}

std::optional<Message> SymEncrypt::decode_plaintext(const Buffer& plain, const Message& outer) {
  // Authentic when it comes from decrypt(): the sender encoded this. Decode it with the frame's
  // checks all the same (a peer with a newer protocol set may send header ids this member does
  // not know; the fuzz target feeds arbitrary bytes).
  codec::Reader r(plain);
  Message out(outer.dest());
  out.src(outer.src());
  out.flags(static_cast<uint16_t>(r.varint_max(0xffff, "message flags out of range")));
  size_t nh = r.varint_max(Message::max_headers, "too many headers");
  auto& registry = HeaderRegistry::instance();
  for (size_t h = 0; h < nh && r.ok(); ++h) {
    uint16_t id = r.u16();
    auto bytes = r.bytes_view();
    if (!r.ok()) break;
    HeaderDecoder decode = registry.decoder(id);
    if (!decode || out.has_header(id)) return std::nullopt;
    codec::Reader hr(bytes);
    HeaderPtr hp = decode(hr);
    if (!hr.ok() || !hp || !hr.at_end()) return std::nullopt;
    out.put_header(id, std::move(hp));
  }
  if (!r.ok()) return std::nullopt;
  out.payload(r.slice(r.remaining()));
  return out;
}

void SymEncrypt::up(Message& msg) {
  auto out = decrypt(msg);
  if (out) Protocol::up(*out);
}

void SymEncrypt::up(MessageBatch& batch) {
  std::vector<Message> kept;
  kept.reserve(batch.size());
  for (auto& m : batch.messages)
    if (auto out = decrypt(m)) kept.push_back(std::move(*out));
  if (kept.empty()) return;
  batch.messages = std::move(kept);
  Protocol::up(batch);
}

}  // namespace cohort
