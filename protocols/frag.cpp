#include "protocols/frag.hpp"

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "stack/protocol_ids.hpp"

namespace cohort {

namespace {
constexpr uint64_t max_fragments_per_message = 1u << 20;
}  // namespace

void FragHeader::encode(codec::Writer& w) const {
  w.varint(info.id);
  w.varint(info.index);
  w.varint(info.count);
  w.varint(info.total);
}

HeaderPtr FragHeader::decode(codec::Reader& r) {
  frag::FragInfo i;
  i.id = r.varint();
  i.index = static_cast<uint32_t>(r.varint_max(max_fragments_per_message, "fragment index"));
  i.count = static_cast<uint32_t>(r.varint_max(max_fragments_per_message, "fragment count"));
  i.total = r.varint();
  if (!r.ok()) return nullptr;
  if (i.count == 0 || i.index >= i.count) return r.fail("fragment index beyond count"), nullptr;
  return std::make_shared<FragHeader>(i);
}

std::string FragHeader::to_string() const {
  return fmt::format("id={} {}/{} total={}", info.id, info.index, info.count, info.total);
}

Frag::Frag()
    : Protocol("FRAG"),
      fragmented_(counter("fragmented", "messages split into fragments")),
      fragments_sent_(counter("fragments_sent", "fragments sent")),
      fragments_received_(counter("fragments_received", "fragments received")),
      reassembled_(counter("reassembled", "messages reassembled and passed up")),
      expired_(counter("expired", "partial messages dropped after max_reassembly_time")),
      evicted_(counter("evicted", "partial messages dropped: max_reassembly_bytes reached")),
      too_large_(counter("too_large",
                         "messages refused: above max_reassembly_bytes (or too many fragments)")),
      invalid_(counter("invalid", "fragments inconsistent with their message, dropped")),
      duplicates_(counter("duplicates", "fragments received twice, ignored")) {
  register_header<FragHeader>(protocol_id::frag, "FRAG");
  declare_size("frag_size", frag_size_,
               "payloads larger than this are fragmented (keep below the transport's datagram)");
  declare("max_reassembly_time", max_reassembly_time_,
          "drop a partial message this long after its first fragment arrived");
  declare_size("max_reassembly_bytes", max_reassembly_bytes_,
               "fragment bytes buffered for partial messages, all senders together");
}

Frag::~Frag() = default;

void Frag::init() {
  if (frag_size_ < 1) throw std::invalid_argument("frag_size: must be positive");
  if (frag_size_ > 64 * 1024 * 1024) throw std::invalid_argument("frag_size: at most 64MB");
  if (max_reassembly_time_ <= Duration::zero())
    throw std::invalid_argument("max_reassembly_time: must be positive");
  if (max_reassembly_bytes_ < frag_size_)
    throw std::invalid_argument("max_reassembly_bytes: must be at least frag_size");
  frag::ReassemblyLimits limits;
  limits.max_time = max_reassembly_time_;
  limits.max_bytes = max_reassembly_bytes_;
  limits.max_fragments = static_cast<uint32_t>(max_fragments_per_message);
  reassembler_ = std::make_unique<frag::Reassembler>(limits);
}

void Frag::start() {
  expiry_timer_ = runtime().schedule(max_reassembly_time_ / 2, [this] { expire(); });
}

void Frag::stop() {
  expiry_timer_.cancel();
}

void Frag::expire() {
  expired_ += reassembler_->expire(runtime().now());
  expiry_timer_ = runtime().schedule(max_reassembly_time_ / 2, [this] { expire(); });
}

void Frag::down(Message& msg) {
  if (msg.payload().size() <= frag_size_) return down_protocol()->down(msg);
  auto pieces = frag::split(msg.payload(), frag_size_);
  if (pieces.size() > max_fragments_per_message) {  // receivers would refuse it
    ++too_large_;
    spdlog::error("FRAG: dropped a message of {} bytes: it needs more than {} fragments",
                  msg.payload().size(), max_fragments_per_message);
    return;
  }
  ++fragmented_;
  frag::FragInfo info{next_id_++, 0, static_cast<uint32_t>(pieces.size()), msg.payload().size()};
  for (uint32_t i = 0; i < pieces.size(); ++i) {
    info.index = i;
    Message f;
    if (i == 0) {
      f = msg;  // headers and flags of the original
    } else {
      f.dest(msg.dest()).src(msg.src()).flags(msg.flags());
    }
    f.payload(pieces[i]).put_header(protocol_id::frag, std::make_shared<FragHeader>(info));
    ++fragments_sent_;
    down_protocol()->down(f);
  }
}

std::optional<Message> Frag::reassemble(const Message& fragment, const FragHeader& h) {
  ++fragments_received_;
  auto r = reassembler_->add(fragment, h.info, runtime().now());
  evicted_ += r.evicted;
  using O = frag::Reassembler::Outcome;
  switch (r.outcome) {
    case O::complete:
      ++reassembled_;
      r.message.remove_header(protocol_id::frag);
      return std::move(r.message);
    case O::incomplete:
      break;
    case O::duplicate:
      ++duplicates_;
      break;
    case O::invalid:
      ++invalid_;
      break;
    case O::too_large:
      ++too_large_;
      break;
  }
  return std::nullopt;
}

void Frag::up(Message& msg) {
  auto* h = msg.header<FragHeader>(protocol_id::frag);
  if (!h) return up_protocol()->up(msg);
  if (auto whole = reassemble(msg, *h)) up_protocol()->up(*whole);
}

void Frag::up(MessageBatch& batch) {
  auto& ms = batch.messages;
  bool any = false;
  for (auto& m : ms)
    any = any || m.has_header(protocol_id::frag);
  if (any) {
    // Each completed message takes the place of its last fragment; other fragments leave.
    std::vector<Message> out;
    out.reserve(ms.size());
    for (auto& m : ms) {
      auto* h = m.header<FragHeader>(protocol_id::frag);
      if (!h) {
        out.push_back(std::move(m));
      } else if (auto whole = reassemble(m, *h)) {
        out.push_back(std::move(*whole));
      }
    }
    ms = std::move(out);
  }
  if (!ms.empty()) up_protocol()->up(batch);
}

}  // namespace cohort
