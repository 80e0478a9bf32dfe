#pragma once
// FILE_PING: discovery through a shared folder (JGroups' FILE_PING). At connect each member
// writes `<location>/<cluster>/<uuid>.node` holding its logical name, UUID and physical address
// (atomically: a temporary file, then rename), and at connect and every `interval` it reads the
// others' files and asks each physical address found (see discovery/discovery.hpp). Its own file
// is rewritten if it disappears and removed on disconnect.
//
// A member that crashed (SIGKILL, power loss) cannot remove its file. So every member touches its
// own file each `interval` (its modification time is a heartbeat), and a file not modified for
// `stale_after` is removed by whichever member reads it next (counted: `stale_files_removed`):
// its owner stopped refreshing it. A member that was only paused longer than that writes its file
// again at its next interval. Times are the file system's, compared on the reading host: hosts
// sharing a network folder need clocks closer than stale_after (NTP does far better).
//
// The files are small and local, so they are read and written on the loop (a few hundred bytes
// per member per interval); a slow network file system would call for runtime().offload().
#include <filesystem>
#include <string>
#include <vector>

#include "discovery/discovery.hpp"

namespace cohort {

class FilePing : public Discovery {
 public:
  FilePing();
  void init() override;

  /// Parses the contents of a .node file; nullopt when malformed.
  static std::optional<MemberInfo> parse_node_file(std::string_view text);
  static std::string format_node_file(const MemberInfo& info);

 protected:
  void on_connect() override;
  void on_disconnect() override;
  void find_candidates() override;

 private:
  std::filesystem::path folder() const;
  std::filesystem::path own_file() const;
  void write_own_file();

  void refresh_own_file();
  /// True (and the file removed) when `p` was not modified for stale_after.
  bool remove_if_stale(const std::filesystem::path& p);

  std::string location_;
  Duration stale_after_ = 30s;
  uint64_t& file_errors_;
  uint64_t& stale_files_removed_;
};

}  // namespace cohort
