#pragma once
// The pure half of FRAG: splitting a payload into fragments and reassembling fragments that may
// arrive interleaved (several senders, several messages each), duplicated, reordered or not at
// all. No clock, socket or thread: time is a parameter, so tests drive it like the simulator.
//
// A message with id `id` (unique per sender) and a payload of `total` bytes becomes `count`
// fragments; fragment `index` carries bytes [index*frag_size, ...) of the payload. Fragment 0
// also carries the original message's headers and flags (the FRAG protocol sends it as a copy of
// the original), so the reassembled message is fragment 0's message with the whole payload.
//
// Limits (all counted by the caller from the outcomes):
//   * max_time: a partial message whose first fragment arrived longer ago than this is dropped by
//     expire() (a lost fragment never pins memory);
//   * max_bytes: the fragment bytes buffered across all partial messages. A message whose total
//     exceeds it is refused (too_large); otherwise the oldest partial messages are evicted until
//     the new fragment fits;
//   * max_fragments: a bound on `count`, so a hostile header cannot make us allocate a huge table.
// A fragment of a message completed within max_time is a duplicate and is ignored, so a message
// is delivered at most once even if all its fragments arrive twice.
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <unordered_set>
#include <vector>

#include "stack/message.hpp"
#include "stack/runtime.hpp"

namespace cohort::frag {

/// What each fragment says about itself (the FRAG header's fields).
struct FragInfo {
  uint64_t id = 0;     ///< message id, unique per sender
  uint32_t index = 0;  ///< 0..count-1
  uint32_t count = 0;  ///< fragments of the message (>= 1)
  uint64_t total = 0;  ///< payload bytes of the whole message
  friend bool operator==(const FragInfo&, const FragInfo&) = default;
};

/// Zero-copy slices of `payload` of at most `frag_size` bytes each (one empty slice if empty).
/// Precondition: frag_size > 0.
std::vector<Buffer> split(const Buffer& payload, size_t frag_size);

struct ReassemblyLimits {
  Duration max_time = std::chrono::seconds(10);
  uint64_t max_bytes = 64 * 1024 * 1024;
  uint32_t max_fragments = 1u << 20;
};

class Reassembler {
 public:
  explicit Reassembler(ReassemblyLimits limits) : limits_(limits) {}

  enum class Outcome {
    incomplete,  ///< buffered; more fragments needed
    complete,    ///< `message` is the reassembled message
    duplicate,   ///< already have this fragment (or the message was completed recently)
    invalid,     ///< inconsistent with the info of earlier fragments, or malformed
    too_large,   ///< the whole message exceeds max_bytes; refused
  };
  struct Result {
    Outcome outcome = Outcome::incomplete;
    Message message;     ///< set when complete
    size_t evicted = 0;  ///< partial messages evicted to make room (max_bytes)
  };

  /// Adds a fragment received from fragment.src() (its payload is the fragment's bytes) at `now`.
  Result add(const Message& fragment, const FragInfo& info, Duration now);
  /// Drops partial messages older than max_time (and forgets completed ids older than that).
  /// Returns how many partial messages were dropped.
  size_t expire(Duration now);

  uint64_t buffered_bytes() const { return buffered_bytes_; }
  size_t partial_count() const { return partials_.size(); }

 private:
  struct Key {
    Address sender;
    uint64_t id;
    friend bool operator==(const Key&, const Key&) = default;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  struct KeyHash {
    size_t operator()(const Key& k) const {
      return std::hash<Address>()(k.sender) ^ (k.id * 0x9e3779b97f4a7c15ull);
    }
  };
  struct Partial {
    FragInfo info;
    Duration started{};
    std::vector<Buffer> pieces;  // by index; empty Buffer + !have = missing
    std::vector<bool> have;
    uint32_t received = 0;
    uint64_t bytes = 0;
    std::optional<Message> first;  // fragment 0 (headers, flags)
  };
  void drop(std::map<Key, Partial>::iterator it);
  void remember_completed(const Key& k, Duration now);

  ReassemblyLimits limits_;
  std::map<Key, Partial> partials_;
  uint64_t buffered_bytes_ = 0;
  // Ids completed within max_time, oldest first (bounded by max_completed_remembered).
  std::deque<std::pair<Duration, Key>> completed_order_;
  std::unordered_set<Key, KeyHash> completed_;
};

}  // namespace cohort::frag
