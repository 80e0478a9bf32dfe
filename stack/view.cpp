#include "stack/view.hpp"

#include <fmt/format.h>

namespace cohort {

std::string View::to_string() const {
  std::string s = "[";
  for (size_t i = 0; i < members_.size(); ++i) {
    if (i) s += ", ";
    s += members_[i].to_string();
  }
  return fmt::format("{}] id={}", s, id_.id);
}

void View::encode(codec::Writer& w) const {
  id_.creator.encode(w);
  w.varint(id_.id);
  w.varint(members_.size());
  for (auto& m : members_)
    m.encode(w);
}

View View::decode(codec::Reader& r) {
  ViewId id;
  id.creator = Address::decode(r);
  id.id = r.varint();
  // Each address takes at least 17 bytes: bound the count by what remains.
  size_t n = r.varint_max(r.remaining() / 17, "view member count beyond end");
  std::vector<Address> members;
  members.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i)
    members.push_back(Address::decode(r));
  return View(std::move(id), std::move(members));
}

}  // namespace cohort
