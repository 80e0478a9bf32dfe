#pragma once
// View: an agreed membership list. ViewId orders views: (coordinator, counter). The first member
// of a view is its coordinator.
#include <algorithm>
#include <string>
#include <vector>

#include "stack/address.hpp"

namespace cohort {

struct ViewId {
  Address creator;
  uint64_t id = 0;
  friend bool operator==(const ViewId& a, const ViewId& b) {
    return a.id == b.id && a.creator == b.creator;
  }
};

class View {
 public:
  View() = default;
  View(ViewId id, std::vector<Address> members)
      : id_(std::move(id)), members_(std::move(members)) {}

  const ViewId& id() const { return id_; }
  const std::vector<Address>& members() const { return members_; }
  size_t size() const { return members_.size(); }
  bool empty() const { return members_.empty(); }
  const Address& coordinator() const { return members_.front(); }
  bool contains(const Address& a) const {
    return std::find(members_.begin(), members_.end(), a) != members_.end();
  }
  /// `[A, B, C] id=7`
  std::string to_string() const;

  void encode(codec::Writer& w) const;
  static View decode(codec::Reader& r);

 private:
  ViewId id_;
  std::vector<Address> members_;
};

}  // namespace cohort
