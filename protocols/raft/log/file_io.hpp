#pragma once
// Thin POSIX file helpers for the file log store. Every failure throws StoreError naming the
// operation, the file and the errno text (full disk, I/O error): nothing is silently ignored.
// Not thread-safe by itself; FileLogStore serialises access, except that fdatasync() may run on
// the writer thread while the loop thread writes to the same descriptor (the kernel allows it).
#include <sys/types.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace cohort::raft::file_io {

/// Throws StoreError("<what> <path>: <strerror(err)>").
[[noreturn]] void throw_errno(const std::string& what, const std::string& path, int err);

/// An open file descriptor that closes itself. Movable, not copyable.
class File {
 public:
  /// open(2); throws StoreError on failure.
  File(const std::string& path, int flags, mode_t mode = 0644);
  File(File&& other) noexcept;
  File& operator=(File&& other) noexcept;
  File(const File&) = delete;
  File& operator=(const File&) = delete;
  ~File();

  int fd() const { return fd_; }
  const std::string& path() const { return path_; }

  /// Writes every byte at `offset`, retrying short writes and EINTR.
  void pwrite_all(std::span<const uint8_t> bytes, uint64_t offset) const;
  /// Reads exactly bytes.size() bytes at `offset`; a short read (file shrank) is an error.
  void pread_exact(std::span<uint8_t> bytes, uint64_t offset) const;
  uint64_t size() const;
  void truncate(uint64_t size) const;
  /// fdatasync(2): data plus the metadata needed to read it back (the file size).
  void datasync() const;

 private:
  int fd_ = -1;
  std::string path_;
};

/// fsync on the directory itself: makes creates, renames and unlinks in it durable.
void fsync_dir(const std::string& dir);
/// Whole file contents; throws if it cannot be read.
std::vector<uint8_t> read_all(const std::string& path);
bool exists(const std::string& path);
/// unlink(2); a missing file is not an error (the goal, absence, is reached).
void remove(const std::string& path);
/// Names (not paths) of the regular files in `dir`.
std::vector<std::string> list_dir(const std::string& dir);
/// Creates `dir` and missing parents.
void make_dirs(const std::string& dir);

/// Replaces dir/name atomically and durably: write name.tmp, fdatasync, rename over name, fsync
/// the directory. A crash leaves either the old or the new content, never a mix.
void write_atomically(const std::string& dir, const std::string& name,
                      std::span<const std::span<const uint8_t>> parts);

}  // namespace cohort::raft::file_io
