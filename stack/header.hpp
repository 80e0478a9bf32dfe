#pragma once
// Header: a protocol's own fields on a message, with a compact hand-written codec. Headers are
// immutable once attached (shared between copies of a message and across threads).
//
// HeaderRegistry maps protocol ids to names and header decoders, like JGroups'
// ClassConfigurator. Ids are fixed numbers listed in stack/protocol_ids.hpp so that every
// member decodes the same bytes the same way.
#include <cstdint>
#include <memory>
#include <string>

#include "stack/codec.hpp"

namespace cohort {

class Header {
 public:
  virtual ~Header() = default;
  virtual void encode(codec::Writer& w) const = 0;
  /// For logs and probes.
  virtual std::string to_string() const { return {}; }
};

using HeaderPtr = std::shared_ptr<const Header>;
/// Decodes one header from exactly the bytes given (the frame has cut them out already); returns
/// nullptr and fails the reader on malformed input.
using HeaderDecoder = HeaderPtr (*)(codec::Reader& r);

class HeaderRegistry {
 public:
  static HeaderRegistry& instance();
  /// Registers (idempotently) a protocol id. Registering a different name for a used id is a
  /// programmer error and aborts.
  void add(uint16_t id, const char* protocol_name, HeaderDecoder decoder);
  HeaderDecoder decoder(uint16_t id) const;
  const char* name(uint16_t id) const;

 private:
  struct Slot {
    const char* name = nullptr;
    HeaderDecoder decoder = nullptr;
  };
  Slot slots_[1024];
};

/// Registers T's header under `id` (T must have `static HeaderPtr decode(codec::Reader&)`).
template <typename T>
void register_header(uint16_t id, const char* protocol_name) {
  HeaderRegistry::instance().add(id, protocol_name, &T::decode);
}

}  // namespace cohort
