#include "discovery/file_ping.hpp"

#include <fmt/format.h>

#include <charconv>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "stack/protocol_ids.hpp"

namespace cohort {

namespace fs = std::filesystem;

namespace {
constexpr uintmax_t max_node_file_bytes = 4096;

bool safe_component(std::string_view s) {
  if (s.empty() || s == "." || s == "..") return false;
  for (char c : s)
    if (c == '/' || c == '\0') return false;
  return true;
}
}  // namespace

FilePing::FilePing()
    : Discovery("FILE_PING", protocol_id::file_ping),
      file_errors_(counter("file_errors", "node files that could not be read, parsed or written")),
      stale_files_removed_(counter("stale_files_removed",
                                   "files removed because nobody refreshed them for stale_after")) {
  declare("location", location_, "the shared folder (one sub-folder per cluster)", true);
  declare("stale_after", stale_after_,
          "remove a node file not refreshed for this long (its member crashed); 0: never");
}

void FilePing::init() {
  Discovery::init();
  if (location_.empty()) throw std::invalid_argument("location: must not be empty");
  if (stale_after_ < Duration::zero() ||
      (stale_after_ > Duration::zero() && stale_after_ < 3 * interval_))
    throw std::invalid_argument(
        "stale_after: must be 0 (never) or at least 3 x interval (live members refresh their "
        "file every interval)");
}

std::string FilePing::format_node_file(const MemberInfo& info) {
  return fmt::format("name={}\nuuid={}\nhi={}\nlo={}\nphysical={}\n", info.address.name(),
                     info.address.uuid_string(), info.address.hi(), info.address.lo(),
                     info.physical);
}

std::optional<MemberInfo> FilePing::parse_node_file(std::string_view text) {
  std::string name, physical;
  std::optional<uint64_t> hi, lo;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = line.substr(0, eq), value = line.substr(eq + 1);
    auto number = [&](std::optional<uint64_t>& out) {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
      if (ec == std::errc() && p == value.data() + value.size()) out = v;
    };
    if (key == "name")
      name = value;
    else if (key == "physical")
      physical = value;
    else if (key == "hi")
      number(hi);
    else if (key == "lo")
      number(lo);
  }
  if (!hi || !lo || physical.empty() || name.size() > 255 || (*hi == 0 && *lo == 0))
    return std::nullopt;
  return MemberInfo{Address(*hi, *lo, name), physical, 0};
}

fs::path FilePing::folder() const {
  return fs::path(location_) / cluster();
}

fs::path FilePing::own_file() const {
  return folder() / (local_address().uuid_string() + ".node");
}

void FilePing::write_own_file() {
  std::error_code ec;
  fs::create_directories(folder(), ec);
  fs::path target = own_file();
  fs::path tmp = target;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << format_node_file(self_info());
    if (!out) return void(++file_errors_);
  }
  fs::rename(tmp, target, ec);  // atomic: readers see the old file or the new one, never half
  if (ec) ++file_errors_;
}

void FilePing::refresh_own_file() {
  std::error_code ec;
  fs::last_write_time(own_file(), fs::file_time_type::clock::now(), ec);
  if (ec) write_own_file();  // gone (removed as stale while we were paused, or by hand)
}

bool FilePing::remove_if_stale(const fs::path& p) {
  if (stale_after_ == Duration::zero()) return false;
  std::error_code ec;
  auto modified = fs::last_write_time(p, ec);
  if (ec) return false;
  if (fs::file_time_type::clock::now() - modified < stale_after_) return false;
  if (fs::remove(p, ec)) ++stale_files_removed_;
  return true;
}

void FilePing::on_connect() {
  if (!safe_component(cluster())) return void(++file_errors_);
  write_own_file();
}

void FilePing::on_disconnect() {
  std::error_code ec;
  fs::remove(own_file(), ec);
}

void FilePing::find_candidates() {
  if (!safe_component(cluster())) return;
  refresh_own_file();
  std::error_code ec;
  for (fs::directory_iterator it(folder(), ec), end; !ec && it != end; it.increment(ec)) {
    const fs::path& p = it->path();
    if (p.extension() != ".node" || p == own_file()) continue;
    if (remove_if_stale(p)) continue;
    std::error_code size_ec;
    if (fs::file_size(p, size_ec) > max_node_file_bytes || size_ec) {
      ++file_errors_;
      continue;
    }
    std::ifstream in(p);
    std::stringstream text;
    text << in.rdbuf();
    auto info = parse_node_file(text.str());
    if (!info) {
      ++file_errors_;
      continue;
    }
    if (info->address != local_address()) send_request(info->physical);
  }
}

}  // namespace cohort
