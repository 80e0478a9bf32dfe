#include "protocols/raft/log/log_store.hpp"

#include "protocols/raft/log/file_log_store.hpp"
#include "protocols/raft/log/memory_log_store.hpp"

namespace cohort::raft {

std::unique_ptr<LogStore> make_log_store(const std::string& kind, const std::string& dir) {
  if (kind == "memory") return std::make_unique<MemoryLogStore>();  // `dir` is not used
  if (kind == "file") {
    if (dir.empty()) throw StoreError("log store \"file\" needs a directory (log_dir)");
    // Preallocation keeps each group commit's fdatasync a plain data flush (file_log_store.hpp).
    return std::make_unique<FileLogStore>(dir, FileLogOptions{.preallocate_bytes = 1 << 20});
  }
  throw StoreError("unknown log store \"" + kind + "\" (expected \"memory\" or \"file\")");
}

}  // namespace cohort::raft
