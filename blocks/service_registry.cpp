#include "blocks/service_registry.hpp"

#include "blocks/block_status.hpp"
#include "stack/codec.hpp"

namespace cohort {

void ServiceRegistry::add_service(std::string name, std::unique_ptr<StateMachine> service) {
  BLOCK_ASSERT(!name.empty() && name.size() <= max_service_name_bytes);
  BLOCK_ASSERT(services_.emplace(std::move(name), std::move(service)).second);
}

StateMachine* ServiceRegistry::find(std::string_view name) const {
  auto it = services_.find(name);
  return it == services_.end() ? nullptr : it->second.get();
}

Buffer ServiceRegistry::wrap(std::string_view service, const Buffer& payload) {
  codec::Writer w(service.size() + payload.size() + 2);
  w.str(service);
  w.raw(payload.span());
  return w.take_buffer();
}

namespace {

// Splits "name + rest"; nullopt when the name does not decode.
std::optional<std::pair<std::string, Buffer>> unwrap(const Buffer& in) {
  codec::Reader r(in);
  std::string name = r.str();
  if (!r.ok() || name.empty() || name.size() > max_service_name_bytes) return std::nullopt;
  return std::make_pair(std::move(name), r.slice(r.remaining()));
}

}  // namespace

Buffer ServiceRegistry::apply(const ApplyContext& ctx, const Buffer& command) {
  auto parts = unwrap(command);
  if (!parts) return make_result(BlockStatus::malformed);
  StateMachine* s = find(parts->first);
  if (!s) return make_result(BlockStatus::unknown_service);
  return s->apply(ctx, parts->second);
}

Buffer ServiceRegistry::query(const Buffer& query) const {
  auto parts = unwrap(query);
  if (!parts) return make_result(BlockStatus::malformed);
  const StateMachine* s = find(parts->first);
  if (!s) return make_result(BlockStatus::unknown_service);
  return s->query(parts->second);
}

Buffer ServiceRegistry::snapshot() const {
  codec::Writer w;
  w.varint(services_.size());
  for (const auto& [name, s] : services_) {
    w.str(name);
    w.bytes(s->snapshot().span());
  }
  return w.take_buffer();
}

void ServiceRegistry::restore(const Buffer& snapshot) {
  codec::Reader r(snapshot);
  const uint64_t n = r.varint();
  if (!r.ok() || n != services_.size()) throw SnapshotError("registry snapshot: wrong services");
  std::vector<std::pair<StateMachine*, Buffer>> parts;
  for (uint64_t i = 0; i < n; ++i) {
    std::string name = r.str();
    Buffer part = r.bytes();
    StateMachine* s = r.ok() ? find(name) : nullptr;
    if (!s) throw SnapshotError("registry snapshot: unknown or malformed service");
    parts.emplace_back(s, part);
  }
  if (!r.at_end()) throw SnapshotError("registry snapshot: trailing bytes");
  // Services are distinct (n names, each found, map size n) only if no name repeats.
  for (size_t i = 0; i < parts.size(); ++i)
    for (size_t j = i + 1; j < parts.size(); ++j)
      if (parts[i].first == parts[j].first) throw SnapshotError("registry snapshot: repeated");

  std::vector<Buffer> backups;
  for (auto& [s, part] : parts)
    backups.push_back(s->snapshot());
  size_t done = 0;
  try {
    for (; done < parts.size(); ++done)
      parts[done].first->restore(parts[done].second);
  } catch (const SnapshotError&) {
    for (size_t i = 0; i < done; ++i)
      parts[i].first->restore(backups[i]);
    throw;
  }
}

void ServiceRegistry::advance_time(const ApplyContext& ctx) {
  for (auto& [name, s] : services_)
    s->advance_time(ctx);
}

void ServiceRegistry::session_closed(const ApplyContext& ctx, uint64_t session_id) {
  for (auto& [name, s] : services_)
    s->session_closed(ctx, session_id);
}

std::vector<Notification> ServiceRegistry::take_notifications() {
  std::vector<Notification> out;
  for (auto& [name, s] : services_) {
    for (auto& n : s->take_notifications()) {
      n.service = name;
      out.push_back(std::move(n));
    }
  }
  return out;
}

}  // namespace cohort
