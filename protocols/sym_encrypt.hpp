#pragma once
// SYM_ENCRYPT: authenticated encryption of every message with a shared symmetric key (issue 7).
// Sits directly above the transport. Unlike JGroups' SYM_ENCRYPT (which needs SERIALIZE for
// that) the headers are encrypted and authenticated together with the payload.
//
// Down: the message's flags, headers (encoded exactly as the frame encodes them: u16 id, varint
// length, bytes) and payload become one plaintext, sealed with XChaCha20-Poly1305 (IETF AEAD,
// libsodium) under the current key and a fresh 24-byte nonce (a random 16-byte prefix chosen when
// the protocol is created, then a 64-bit little-endian message counter). The message leaves with
// only a SymEncryptHeader {key version, nonce} and the ciphertext as payload:
//
//   header     varint key_version | 24 bytes nonce
//   payload    AEAD(key, nonce, ad, plaintext) = ciphertext | 16-byte Poly1305 tag
//   plaintext  varint flags | varint n_headers | n × { u16 id | varint len | len bytes } | payload
//   ad         "cohort/sym_encrypt/1" | u32 key_version | u64 src.hi | u64 src.lo
//              | u8 has_dest | [u64 dest.hi | u64 dest.lo] | varint len | cluster
//
// The associated data binds a ciphertext to its sender, its destination (a member, or the whole
// group) and the cluster, so it cannot be replayed to another member or another cluster, nor
// presented as coming from someone else. (Replay of the same message to the same member is the
// business of the reliability protocols above, which drop duplicates.)
//
// Up: messages are decrypted one by one (batches too) and rebuilt with their original flags and
// headers; headers are decoded through HeaderRegistry with the frame's checks. A message without
// the header, with a key version this member does not hold, that fails authentication or whose
// plaintext does not decode is counted and dropped; hostile input never crashes.
//
// Keys: 32 bytes from `key_file` (32 raw bytes or 64 hex digits) or `key_env` (an environment
// variable holding 64 hex digits) — never from the XML itself: a value that looks like a key is
// rejected. Rotation without downtime uses the second, receive-only key (`old_key_*`): 1) every
// member, one by one, adds the new key as the accepted one (sending with the old); 2) one by one,
// members make the new key current and keep the old as accepted; 3) optionally drop the old key.
// At every point each member accepts what every other member sends. reload_keys() re-reads the
// key attributes on a running stack.
//
// Loop affinity: everything runs on the channel's loop. Key files and variables are read in
// init() and reload_keys() (configuration time, not the message path).
#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "stack/protocol.hpp"

namespace cohort {

class SymEncryptHeader : public Header {
 public:
  static constexpr size_t nonce_bytes = 24;
  using Nonce = std::array<uint8_t, nonce_bytes>;

  SymEncryptHeader(uint32_t key_version, const Nonce& nonce)
      : key_version_(key_version), nonce_(nonce) {}
  uint32_t key_version() const { return key_version_; }
  const Nonce& nonce() const { return nonce_; }

  void encode(codec::Writer& w) const override;
  static HeaderPtr decode(codec::Reader& r);
  std::string to_string() const override;

 private:
  uint32_t key_version_;
  Nonce nonce_;
};

class SymEncrypt : public Protocol {
 public:
  static constexpr size_t key_bytes = 32;
  static constexpr size_t tag_bytes = 16;
  struct Key {
    uint32_t version = 0;
    std::array<uint8_t, key_bytes> bytes{};
  };

  SymEncrypt();
  ~SymEncrypt() override;

  using Protocol::down;
  using Protocol::up;
  void init() override;
  void down(Message& msg) override;
  void up(Message& msg) override;
  void up(MessageBatch& batch) override;
  std::any down(Event& ev) override;

  /// Re-reads key_file/key_env, key_version and the old_* attributes (after set_attribute) and
  /// installs the keys. Throws std::invalid_argument ("attr: what") and keeps the current keys on
  /// a bad configuration.
  void reload_keys();
  /// Installs keys directly (tests, tools). `accepted` is a second key accepted on receive.
  void set_keys(const Key& current, const std::optional<Key>& accepted);
  uint32_t current_key_version() const { return current_.version; }

  /// The message as it leaves this layer: sealed under the current key, with only the
  /// SYM_ENCRYPT header. nullopt before keys are installed. Public for tests and the fuzz target.
  std::optional<Message> encrypt(const Message& msg);
  /// The original message rebuilt from a received one, or nullopt when it must be dropped (the
  /// reason is counted). Public for tests and the fuzz target.
  std::optional<Message> decrypt(const Message& msg);
  /// Rebuilds a message (flags, headers, payload; src/dest from `outer`) from a decrypted
  /// plaintext; nullopt when it does not decode. Public for the fuzz target.
  static std::optional<Message> decode_plaintext(const Buffer& plain, const Message& outer);

 private:
  std::optional<Key> load_key(const std::string& file_attr, const std::string& file,
                              const std::string& env_attr, const std::string& env,
                              const std::string& version_attr, uint64_t version) const;
  const Key* key_for(uint32_t version) const;

  std::string key_file_, key_env_, old_key_file_, old_key_env_;
  uint64_t key_version_ = 1, old_key_version_ = 0;
  Key current_;
  std::optional<Key> accepted_;
  bool have_key_ = false;

  Address local_;
  std::string cluster_;
  std::array<uint8_t, 16> nonce_prefix_{};
  uint64_t nonce_counter_ = 0;

  uint64_t& encrypted_;
  uint64_t& decrypted_;
  uint64_t& decrypt_failed_;
  uint64_t& unknown_key_version_;
  uint64_t& unencrypted_dropped_;
  uint64_t& malformed_;
  uint64_t& accepted_key_used_;
};

/// Registers SYM_ENCRYPT's header decoder (done by the constructor too; idempotent).
void register_sym_encrypt_header();

}  // namespace cohort
