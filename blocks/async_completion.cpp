#include "blocks/async_completion.hpp"

#include <map>
#include <mutex>
#include <string>

namespace cohort {

namespace {

// A Boost category that forwards to a std one (one instance per std category, never freed:
// error codes may outlive any owner).
class StdCategoryAdapter : public boost::system::error_category {
 public:
  explicit StdCategoryAdapter(const std::error_category& c) : std_(c) {}
  const char* name() const noexcept override { return std_.name(); }
  std::string message(int ev) const override { return std_.message(ev); }
  const std::error_category& std_category() const { return std_; }

 private:
  const std::error_category& std_;
};

const boost::system::error_category& adapter_for(const std::error_category& c) {
  static std::mutex mu;
  static auto* adapters = new std::map<const std::error_category*, StdCategoryAdapter*>();
  std::lock_guard lock(mu);
  auto& a = (*adapters)[&c];
  if (!a) a = new StdCategoryAdapter(c);
  return *a;
}

}  // namespace

boost::system::error_code to_boost_error(const std::error_code& ec) {
  if (!ec) return {};
  return {ec.value(), adapter_for(ec.category())};
}

std::error_code to_std_error(const boost::system::error_code& ec) {
  if (!ec) return {};
  if (auto* a = dynamic_cast<const StdCategoryAdapter*>(&ec.category()))
    return {ec.value(), a->std_category()};
  return ec;
}

}  // namespace cohort
