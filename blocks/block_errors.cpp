#include "blocks/block_errors.hpp"

#include "protocols/raft/client_errors.hpp"

namespace cohort {

namespace {

class BlockCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "cohort.block"; }
  std::string message(int ev) const override {
    return std::string(to_string(static_cast<BlockStatus>(ev)));
  }
};

std::string client_error_name(raft::ClientErrc e) {
  switch (e) {
    case raft::ClientErrc::ok:
      return "ok";
    case raft::ClientErrc::no_leader:
      return "no_leader";
    case raft::ClientErrc::timeout:
      return "timeout";
    case raft::ClientErrc::not_member:
      return "not_member";
    case raft::ClientErrc::store_failed:
      return "store_failed";
    case raft::ClientErrc::not_started:
      return "not_started";
    case raft::ClientErrc::rejected:
      return "rejected";
  }
  return "unknown";
}

}  // namespace

const std::error_category& block_category() {
  static BlockCategory c;
  return c;
}

std::string error_name(const std::error_code& ec) {
  if (!ec) return "ok";
  if (ec.category() == block_category()) return ec.message();
  if (ec.category() == raft::client_category())
    return client_error_name(static_cast<raft::ClientErrc>(ec.value()));
  return ec.message();
}

}  // namespace cohort
