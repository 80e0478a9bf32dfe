#pragma once
// FILE_PING: discovery through a shared folder (JGroups' FILE_PING). At connect each member
// writes `<location>/<cluster>/<uuid>.node` holding its logical name, UUID and physical address
// (atomically: a temporary file, then rename), and at connect and every `interval` it reads the
// others' files and asks each physical address found (see discovery/discovery.hpp). Its own file
// is rewritten if it disappears and removed on disconnect. A member that crashed leaves its file
// behind; asking its address fails quietly until someone removes the file.
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

  std::string location_;
  uint64_t& file_errors_;
};

}  // namespace cohort
