#pragma once
// TaskBatch: hands tasks from any thread to one consumer thread in batches. The first task of a
// batch posts one drain to the consumer (through `post`); tasks pushed before that drain runs
// ride along. So N requests arriving together cost one cross-thread wake-up instead of N, and
// the HTTP gateway's writes reach the channel's loop in one task (one REPLICATION drive).
//
// Thread-safety: push() from any thread; drains run wherever `post` sends them, one at a time
// (the consumer must be a single thread or strand). The batch must outlive every posted drain.
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

namespace cohort::gateway {

class TaskBatch {
 public:
  using Task = std::function<void()>;
  using Post = std::function<void(std::function<void()>)>;

  /// `after_drain` (optional) runs on the consumer after each batch's tasks: where work the
  /// tasks queued is handed on together (the gateway's write batches).
  explicit TaskBatch(Post post, std::function<void()> after_drain = {})
      : post_(std::move(post)), after_drain_(std::move(after_drain)) {}

  void push(Task t) {
    bool first = false;
    {
      std::lock_guard lock(mu_);
      first = pending_.empty();
      pending_.push_back(std::move(t));
    }
    if (first) post_([this] { drain(); });
  }

 private:
  void drain() {
    {
      std::lock_guard lock(mu_);
      running_.swap(pending_);  // pending_ takes running_'s spare capacity
    }
    for (auto& t : running_)
      t();
    running_.clear();
    if (after_drain_) after_drain_();
  }

  Post post_;
  std::function<void()> after_drain_;
  std::mutex mu_;
  std::vector<Task> pending_;  // guarded by mu_
  std::vector<Task> running_;  // the consumer's only
};

}  // namespace cohort::gateway
