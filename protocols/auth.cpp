#include "protocols/auth.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>

#include "protocols/gms.hpp"
#include "stack/protocol_ids.hpp"

namespace cohort {

static_assert(AuthHeader::mac_bytes == crypto_auth_hmacsha512256_BYTES);

namespace {

constexpr std::string_view label = "cohort/auth/1";
constexpr size_t min_secret_bytes = 16;
constexpr size_t max_secret_bytes = 4096;

std::string trim(std::string s) {
  auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && ws(s.back()))
    s.pop_back();
  size_t i = 0;
  while (i < s.size() && ws(s[i]))
    ++i;
  return s.substr(i);
}

bool is_env_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
  });
}

// A long value without a path character is taken for a secret pasted into the XML.
bool looks_like_inline_secret(std::string_view s) {
  return s.size() >= min_secret_bytes && s.find('/') == std::string_view::npos &&
         s.find('.') == std::string_view::npos;
}

void write_nonce(codec::Writer& w, const AuthHeader::Nonce& n) {
  w.raw(n);
}

bool read_array(codec::Reader& r, std::array<uint8_t, 32>& out) {
  auto b = r.raw(out.size());
  if (!r.ok()) return false;
  std::memcpy(out.data(), b.data(), out.size());
  return true;
}

}  // namespace

// ---- header ----

void AuthHeader::encode(codec::Writer& w) const {
  w.u8(type);
  switch (type) {
    case hello:
      break;
    case challenge:
      w.u8(purpose);
      write_nonce(w, nonce);
      break;
    case token:
      w.u8(purpose);
      write_nonce(w, nonce);
      w.raw(mac);
      break;
    case check:
      write_nonce(w, nonce);
      break;
    case answer:
      write_nonce(w, nonce);
      w.raw(mac);
      write_nonce(w, own_nonce);
      break;
  }
}

HeaderPtr AuthHeader::decode(codec::Reader& r) {
  uint8_t t = r.u8();
  if (t < hello || t > answer) return r.fail("unknown AUTH header type"), nullptr;
  auto h = std::make_shared<AuthHeader>(static_cast<Type>(t));
  auto purpose = [&] {
    uint8_t p = r.u8();
    if (p < join || p > merge_view) r.fail("unknown AUTH purpose");
    h->purpose = static_cast<Purpose>(p);
  };
  switch (h->type) {
    case hello:
      break;
    case challenge:
      purpose();
      read_array(r, h->nonce);
      break;
    case token:
      purpose();
      read_array(r, h->nonce);
      read_array(r, h->mac);
      break;
    case check:
      h->purpose = merge_check;
      read_array(r, h->nonce);
      break;
    case answer:
      h->purpose = merge_check;
      read_array(r, h->nonce);
      read_array(r, h->mac);
      read_array(r, h->own_nonce);
      break;
  }
  if (!r.ok()) return nullptr;
  return h;
}

std::string AuthHeader::to_string() const {
  static const char* names[] = {"?", "hello", "challenge", "token", "check", "answer"};
  return fmt::format("AUTH {}", names[type]);
}

void register_auth_header() {
  register_header<AuthHeader>(protocol_id::auth, "AUTH");
}

// ---- protocol ----

Auth::Auth()
    : Protocol("AUTH"),
      challenges_sent_(counter("challenges_sent", "join challenges sent")),
      joins_authenticated_(counter("joins_authenticated", "JOIN_REQs with a valid token")),
      joins_rejected_(counter("joins_rejected",
                              "JOIN_REQs refused: wrong token (secret) or no AUTH at the joiner")),
      stale_tokens_(counter("stale_tokens",
                            "tokens dropped: nonce not outstanding (replayed, expired, unknown)")),
      merge_checks_passed_(counter("merge_checks_passed", "new members that proved the secret")),
      merge_members_refused_(counter("merge_members_refused",
                                     "members left out of a merge view: no valid answer in time")),
      views_refused_(counter("views_refused",
                             "VIEWs from outside our view without a valid token (foreign merge)")),
      malformed_(counter("malformed", "AUTH messages dropped: type or purpose out of place")) {
  if (sodium_init() < 0) throw std::runtime_error("AUTH: libsodium failed to initialise");
  register_auth_header();
  declare("secret_file", secret_file_,
          "file holding the shared secret (at least 16 bytes; not the secret itself)");
  declare("secret_env", secret_env_,
          "name of an environment variable holding the shared secret (at least 16 characters)");
  declare("challenge_timeout", challenge_timeout_, "how long an issued nonce stays valid");
  declare("check_timeout", check_timeout_,
          "how long a merge leader waits for new members to prove the secret");
  declare("max_outstanding", max_outstanding_, "most nonces outstanding at once (oldest evicted)");
}

Auth::~Auth() {
  sodium_memzero(key_.data(), key_.size());
}

void Auth::set_secret(std::string_view secret) {
  crypto_generichash(key_.data(), key_.size(), reinterpret_cast<const uint8_t*>(secret.data()),
                     secret.size(), reinterpret_cast<const uint8_t*>(label.data()), label.size());
  have_key_ = true;
}

void Auth::init() {
  auto bad = [](const char* attr, const std::string& what) {
    return std::invalid_argument(fmt::format("{}: {}", attr, what));
  };
  if (challenge_timeout_ <= Duration::zero()) throw bad("challenge_timeout", "must be positive");
  if (check_timeout_ <= Duration::zero()) throw bad("check_timeout", "must be positive");
  if (max_outstanding_ < 1) throw bad("max_outstanding", "must be at least 1");
  if (!secret_file_.empty() && !secret_env_.empty())
    throw bad("secret_file", "set secret_file or secret_env, not both");
  std::string secret;
  if (!secret_file_.empty()) {
    if (looks_like_inline_secret(secret_file_))
      throw bad("secret_file",
                "looks like an inline secret; the secret never goes in the XML: give a file path");
    std::ifstream in(secret_file_, std::ios::binary);
    if (!in)
      throw bad("secret_file",
                fmt::format("cannot read '{}': {}", secret_file_, std::strerror(errno)));
    secret.assign(max_secret_bytes + 1, '\0');
    in.read(secret.data(), static_cast<std::streamsize>(secret.size()));
    secret.resize(static_cast<size_t>(in.gcount()));
    if (secret.size() > max_secret_bytes)
      throw bad("secret_file", fmt::format("'{}' is larger than 4096 bytes", secret_file_));
    secret = trim(std::move(secret));
    if (secret.size() < min_secret_bytes)
      throw bad("secret_file", fmt::format("'{}' must hold at least 16 bytes", secret_file_));
  } else if (!secret_env_.empty()) {
    if (!is_env_name(secret_env_))
      throw bad("secret_env", "not an environment variable name (the secret never goes in XML)");
    const char* value = std::getenv(secret_env_.c_str());
    if (!value) throw bad("secret_env", fmt::format("{} is not set", secret_env_));
    secret = trim(value);
    if (secret.size() < min_secret_bytes)
      throw bad("secret_env", fmt::format("{} must hold at least 16 characters", secret_env_));
  } else if (!have_key_) {
    throw bad("secret_file", "no secret: set secret_file or secret_env (never the secret itself)");
  }
  if (!secret.empty()) set_secret(secret);
  sodium_memzero(secret.data(), secret.size());
}

void Auth::stop() {
  check_timer_.cancel();
  checking_.reset();
  awaiting_.clear();
  passed_.clear();
  issued_.clear();
  pending_joins_.clear();
  merge_view_nonces_.clear();
}

AuthHeader::Mac Auth::mac(AuthHeader::Purpose purpose, const AuthHeader::Nonce& nonce,
                          const Address& prover, const Address& verifier) const {
  codec::Writer w(128 + cluster_.size());
  w.raw(std::span(reinterpret_cast<const uint8_t*>(label.data()), label.size()));
  w.u8(purpose);
  w.raw(nonce);
  w.u64(prover.hi());
  w.u64(prover.lo());
  w.u64(verifier.hi());
  w.u64(verifier.lo());
  w.str(cluster_);
  AuthHeader::Mac out;
  crypto_auth_hmacsha512256(out.data(), w.data().data(), w.size(), key_.data());
  return out;
}

AuthHeader::Nonce Auth::issue(const Address& peer, AuthHeader::Purpose purpose) {
  Duration now = runtime().now();
  if (issued_.size() >= max_outstanding_) {
    std::erase_if(issued_, [&](auto& e) { return now - e.second.at > challenge_timeout_; });
    if (issued_.size() >= max_outstanding_) issued_.erase(issued_.begin());
  }
  // Cryptographic nonces come from libsodium's CSPRNG, not the runtime's seeded PRNG; the bytes
  // never influence a protocol decision, so simulations still replay.
  Issued is;
  randombytes_buf(is.nonce.data(), is.nonce.size());
  is.at = now;
  issued_.insert_or_assign({peer, purpose}, is);
  return is.nonce;
}

Auth::Verdict Auth::verify(const Address& peer, AuthHeader::Purpose purpose, const AuthHeader& h) {
  auto it = issued_.find({peer, purpose});
  // A nonce we did not issue to this peer (a replay, or a token meant for someone else) does not
  // consume the outstanding one: the legitimate exchange can still complete.
  if (it == issued_.end() ||
      sodium_memcmp(it->second.nonce.data(), h.nonce.data(), AuthHeader::nonce_bytes) != 0)
    return Verdict::stale;
  bool expired = runtime().now() - it->second.at > challenge_timeout_;
  issued_.erase(it);  // single use
  if (expired) return Verdict::stale;
  auto expect = mac(purpose, h.nonce, peer, local_);
  return crypto_verify_32(expect.data(), h.mac.data()) == 0 ? Verdict::valid : Verdict::invalid;
}

void Auth::send(const Address& dest, std::shared_ptr<AuthHeader> h) {
  Message m(dest);
  m.set(Message::INTERNAL).set(Message::OOB);
  m.put_header(protocol_id::auth, std::move(h));
  Protocol::down(m);
}

std::any Auth::down(Event& ev) {
  switch (ev.type) {
    case event::set_local_address:
      local_ = ev.get<Address>();
      break;
    case event::connect:
      cluster_ = ev.get<std::string>();
      break;
    case event::view_change:
      view_ = ev.get<View>();
      pending_joins_.clear();
      break;
    default:
      break;
  }
  return Protocol::down(ev);
}

void Auth::down(Message& msg) {
  if (auto* g = msg.header<GmsHeader>(protocol_id::gms)) {
    if (g->type == GmsHeader::join_req && !msg.dest().is_null()) {
      // Kept without the hello: re-sent with a token when the receiver challenges.
      pending_joins_.insert_or_assign(msg.dest(), msg);
      msg.put_header(protocol_id::auth, std::make_shared<AuthHeader>(AuthHeader::hello));
    } else if (g->type == GmsHeader::view) {
      auto it = merge_view_nonces_.find(msg.dest());
      if (it != merge_view_nonces_.end()) {
        auto t = std::make_shared<AuthHeader>(AuthHeader::token);
        t->purpose = AuthHeader::merge_view;
        t->nonce = it->second;
        t->mac = mac(AuthHeader::merge_view, it->second, local_, msg.dest());
        merge_view_nonces_.erase(it);
        msg.put_header(protocol_id::auth, std::move(t));
      }
    }
  }
  Protocol::down(msg);
}

// --- up: join and view filters ------------------------------------------------------------------

bool Auth::consume(Message& msg) {
  const auto* ah = msg.header<AuthHeader>(protocol_id::auth);
  if (const auto* g = msg.header<GmsHeader>(protocol_id::gms)) {
    if (g->type == GmsHeader::join_req) return filter_join_req(msg, ah);
    if (g->type == GmsHeader::view) return filter_view(msg, ah);
    return false;
  }
  if (!ah) return false;
  switch (ah->type) {
    case AuthHeader::challenge:
      handle_challenge(msg, *ah);
      break;
    case AuthHeader::check:
      handle_check(msg, *ah);
      break;
    case AuthHeader::answer:
      handle_answer(msg, *ah);
      break;
    default:
      ++malformed_;  // hello/token belong on a GMS message
      break;
  }
  return true;
}

bool Auth::filter_join_req(const Message& msg, const AuthHeader* h) {
  const Address& src = msg.src();
  if (!h) {
    ++joins_rejected_;
    reject_join(src, "the joiner has no AUTH protocol (this group requires authentication)");
    return true;
  }
  if (h->type == AuthHeader::hello) {
    auto c = std::make_shared<AuthHeader>(AuthHeader::challenge);
    c->purpose = AuthHeader::join;
    c->nonce = issue(src, AuthHeader::join);
    ++challenges_sent_;
    send(src, std::move(c));
    return true;
  }
  if (h->type != AuthHeader::token || h->purpose != AuthHeader::join) {
    ++malformed_;
    return true;
  }
  switch (verify(src, AuthHeader::join, *h)) {
    case Verdict::valid:
      ++joins_authenticated_;
      return false;  // on to GMS
    case Verdict::stale:
      ++stale_tokens_;
      return true;
    case Verdict::invalid:
      ++joins_rejected_;
      reject_join(src, "invalid token (wrong secret?)");
      return true;
  }
  return true;
}

void Auth::reject_join(const Address& joiner, const std::string& why) {
  if (view_.empty()) return;  // not a member of a group yet: no group to refuse for
  auto r = std::make_shared<GmsHeader>(GmsHeader::join_reject);
  r->reason = fmt::format("AUTH: {} refused the join of {}: {}", local_.to_string(),
                          joiner.to_string(), why);
  Message m(joiner);
  m.set(Message::INTERNAL).set(Message::OOB);
  m.put_header(protocol_id::gms, std::move(r));
  Protocol::down(m);
}

bool Auth::filter_view(const Message& msg, const AuthHeader* h) {
  // A joiner takes its first view from the coordinator it asked; members take views from their
  // own view's members. Only a VIEW from outside (a merge leader) needs a token.
  if (view_.empty() || view_.contains(msg.src())) return false;
  if (h && h->type == AuthHeader::token && h->purpose == AuthHeader::merge_view) {
    auto v = verify(msg.src(), AuthHeader::merge_view, *h);
    if (v == Verdict::valid) return false;
    if (v == Verdict::stale) ++stale_tokens_;
  }
  ++views_refused_;
  return true;
}

void Auth::handle_challenge(const Message& msg, const AuthHeader& h) {
  auto it = pending_joins_.find(msg.src());
  if (h.purpose != AuthHeader::join || it == pending_joins_.end()) {
    ++stale_tokens_;  // not asked by us (or answered already)
    return;
  }
  Message m = std::move(it->second);
  pending_joins_.erase(it);
  auto t = std::make_shared<AuthHeader>(AuthHeader::token);
  t->purpose = AuthHeader::join;
  t->nonce = h.nonce;
  t->mac = mac(AuthHeader::join, h.nonce, local_, msg.src());
  m.put_header(protocol_id::auth, std::move(t));
  Protocol::down(m);
}

// --- merge --------------------------------------------------------------------------------------

std::any Auth::up(Event& ev) {
  if (ev.type != event::install_merge_view) return Protocol::up(ev);
  if (!checking_) start_merge_check(ev.get<View>());
  return {};  // a check in progress: MERGE asks again next round
}

void Auth::start_merge_check(const View& v) {
  bool any_new = false;
  for (auto& m : v.members())
    any_new |= m != local_ && !view_.contains(m);
  if (!any_new) {
    Event ev(event::install_merge_view, v);
    Protocol::up(ev);
    return;
  }
  // Members of our own view are checked too (but kept whatever they answer): one that meanwhile
  // installed another coordinator's view takes our merge VIEW only with a token.
  checking_ = v;
  awaiting_.clear();
  for (auto& m : v.members())
    if (m != local_) awaiting_.insert(m);
  passed_.clear();
  for (auto& m : awaiting_) {
    auto c = std::make_shared<AuthHeader>(AuthHeader::check);
    c->purpose = AuthHeader::merge_check;
    c->nonce = issue(m, AuthHeader::merge_check);
    send(m, std::move(c));
  }
  check_timer_ = runtime().schedule(check_timeout_, [this] { finish_merge_check(); });
}

void Auth::handle_check(const Message& msg, const AuthHeader& h) {
  auto a = std::make_shared<AuthHeader>(AuthHeader::answer);
  a->purpose = AuthHeader::merge_check;
  a->nonce = h.nonce;
  a->mac = mac(AuthHeader::merge_check, h.nonce, local_, msg.src());
  a->own_nonce = issue(msg.src(), AuthHeader::merge_view);
  send(msg.src(), std::move(a));
}

void Auth::handle_answer(const Message& msg, const AuthHeader& h) {
  if (!checking_ || !awaiting_.count(msg.src())) {
    ++stale_tokens_;
    return;
  }
  auto v = verify(msg.src(), AuthHeader::merge_check, h);
  if (v == Verdict::stale) {
    ++stale_tokens_;
    return;  // not the answer to our check: keep waiting for it
  }
  awaiting_.erase(msg.src());
  if (v == Verdict::valid) {
    ++merge_checks_passed_;
    passed_.insert(msg.src());
    merge_view_nonces_.insert_or_assign(msg.src(), h.own_nonce);
  }
  if (awaiting_.empty()) finish_merge_check();
}

void Auth::finish_merge_check() {
  check_timer_.cancel();
  if (!checking_) return;
  View v = std::move(*checking_);
  checking_.reset();
  awaiting_.clear();
  std::vector<Address> members;
  bool any_new = false;
  for (auto& m : v.members()) {
    if (m == local_ || view_.contains(m)) {
      members.push_back(m);
    } else if (passed_.count(m)) {
      members.push_back(m);
      any_new = true;
    } else {
      ++merge_members_refused_;
    }
  }
  passed_.clear();
  if (!any_new) return;
  Event ev(event::install_merge_view, View(v.id(), members));
  Protocol::up(ev);
}

void Auth::up(Message& msg) {
  if (!consume(msg)) Protocol::up(msg);
}

void Auth::up(MessageBatch& batch) {
  std::erase_if(batch.messages, [&](Message& m) { return consume(m); });
  if (!batch.empty()) Protocol::up(batch);
}

}  // namespace cohort
