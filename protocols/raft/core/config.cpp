#include "protocols/raft/core/config.hpp"

#include <algorithm>

#include "protocols/raft/core/assert.hpp"
#include "stack/codec.hpp"

namespace cohort::raft {

namespace {
bool sorted_contains(const std::vector<std::string>& v, const std::string& id) {
  return std::binary_search(v.begin(), v.end(), id);
}
void sorted_insert(std::vector<std::string>& v, const std::string& id) {
  v.insert(std::lower_bound(v.begin(), v.end(), id), id);
}
void erase_value(std::vector<std::string>& v, const std::string& id) {
  v.erase(std::remove(v.begin(), v.end(), id), v.end());
}
}  // namespace

bool Configuration::is_voter(const std::string& id) const {
  return sorted_contains(voters, id);
}
bool Configuration::is_learner(const std::string& id) const {
  return sorted_contains(learners, id);
}

std::vector<std::string> Configuration::members() const {
  std::vector<std::string> all = voters;
  all.insert(all.end(), learners.begin(), learners.end());
  return all;
}

Configuration Configuration::with_learner(const std::string& id) const {
  COHORT_ASSERT(!contains(id));
  Configuration c = *this;
  sorted_insert(c.learners, id);
  return c;
}

Configuration Configuration::promoted(const std::string& id) const {
  COHORT_ASSERT(is_learner(id));
  Configuration c = *this;
  erase_value(c.learners, id);
  sorted_insert(c.voters, id);
  return c;
}

Configuration Configuration::without(const std::string& id) const {
  COHORT_ASSERT(contains(id));
  Configuration c = *this;
  erase_value(c.voters, id);
  erase_value(c.learners, id);
  return c;
}

bool Configuration::normalize() {
  std::sort(voters.begin(), voters.end());
  std::sort(learners.begin(), learners.end());
  if (std::adjacent_find(voters.begin(), voters.end()) != voters.end()) return false;
  if (std::adjacent_find(learners.begin(), learners.end()) != learners.end()) return false;
  for (const auto& l : learners) {
    if (is_voter(l)) return false;
  }
  for (const auto& m : members()) {
    if (m.empty() || m.size() > max_raft_id_bytes) return false;
  }
  return true;
}

Buffer Configuration::encode() const {
  codec::Writer w;
  w.varint(voters.size());
  for (const auto& v : voters)
    w.str(v);
  w.varint(learners.size());
  for (const auto& l : learners)
    w.str(l);
  return w.take_buffer();
}

std::optional<Configuration> Configuration::decode(const Buffer& in) {
  codec::Reader r(in);
  Configuration c;
  for (auto* list : {&c.voters, &c.learners}) {
    // Each member takes at least one byte, so the count is bounded by what remains.
    size_t n = r.varint_max(std::min(max_config_members, r.remaining()), "too many members");
    for (size_t i = 0; i < n && r.ok(); ++i)
      list->push_back(r.str());
  }
  if (!r.ok() || !r.at_end() || !c.normalize()) return std::nullopt;
  return c;
}

Configuration make_configuration(std::vector<std::string> voters,
                                 std::vector<std::string> learners) {
  Configuration c{std::move(voters), std::move(learners)};
  COHORT_ASSERT(c.normalize());
  return c;
}

}  // namespace cohort::raft
