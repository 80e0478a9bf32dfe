#include "protocols/raft/log/file_io.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "protocols/raft/log/log_store.hpp"

namespace cohort::raft::file_io {

void throw_errno(const std::string& what, const std::string& path, int err) {
  throw StoreError(what + " " + path + ": " + std::strerror(err));
}

File::File(const std::string& path, int flags, mode_t mode) : path_(path) {
  do {
    fd_ = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd_ < 0 && errno == EINTR);
  if (fd_ < 0) throw_errno("open", path, errno);
}

File::File(File&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) {
  other.fd_ = -1;
}

File& File::operator=(File&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

File::~File() {
  // A close error cannot lose data we promised: everything promised was fdatasync'ed first.
  if (fd_ >= 0) ::close(fd_);
}

void File::pwrite_all(std::span<const uint8_t> bytes, uint64_t offset) const {
  const uint8_t* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::pwrite(fd_, p, left, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("write", path_, errno);
    }
    p += n;
    left -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

void File::pread_exact(std::span<uint8_t> bytes, uint64_t offset) const {
  uint8_t* p = bytes.data();
  size_t left = bytes.size();
  while (left > 0) {
    ssize_t n = ::pread(fd_, p, left, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      throw_errno("read", path_, errno);
    }
    if (n == 0) throw StoreError("read " + path_ + ": unexpected end of file");
    p += n;
    left -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
}

uint64_t File::size() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw_errno("fstat", path_, errno);
  return static_cast<uint64_t>(st.st_size);
}

void File::truncate(uint64_t size) const {
  int rc;
  do {
    rc = ::ftruncate(fd_, static_cast<off_t>(size));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_errno("ftruncate", path_, errno);
}

void File::datasync() const {
  // No EINTR retry loop is needed for correctness, but a retry is harmless; any other error
  // means the kernel may have dropped dirty pages, so the caller must stop trusting the file.
  int rc;
  do {
    rc = ::fdatasync(fd_);
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_errno("fdatasync", path_, errno);
}

void fsync_dir(const std::string& dir) {
  File d(dir, O_RDONLY | O_DIRECTORY);
  int rc;
  do {
    rc = ::fsync(d.fd());
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) throw_errno("fsync directory", dir, errno);
}

std::vector<uint8_t> read_all(const std::string& path) {
  File f(path, O_RDONLY);
  std::vector<uint8_t> bytes(f.size());
  f.pread_exact(bytes, 0);
  return bytes;
}

bool exists(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) return true;
  if (errno == ENOENT) return false;
  throw_errno("stat", path, errno);
}

void remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) throw_errno("unlink", path, errno);
}

std::vector<std::string> list_dir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->is_regular_file(ec)) names.push_back(it->path().filename().string());
  }
  if (ec) throw StoreError("list directory " + dir + ": " + ec.message());
  return names;
}

void make_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw StoreError("create directory " + dir + ": " + ec.message());
}

void write_atomically(const std::string& dir, const std::string& name,
                      std::span<const std::span<const uint8_t>> parts) {
  const std::string tmp = dir + "/" + name + ".tmp";
  const std::string final_path = dir + "/" + name;
  {
    File f(tmp, O_WRONLY | O_CREAT | O_TRUNC);
    uint64_t offset = 0;
    for (auto part : parts) {
      f.pwrite_all(part, offset);
      offset += part.size();
    }
    f.datasync();  // before the rename: a crash must never expose a renamed but empty file
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) throw_errno("rename", tmp, errno);
  fsync_dir(dir);
}

}  // namespace cohort::raft::file_io
