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

  explicit TaskBatch(Post post) : post_(std::move(post)) {}

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
  }

  Post post_;
  std::mutex mu_;
  std::vector<Task> pending_;  // guarded by mu_
  std::vector<Task> running_;  // the consumer's only
};

}  // namespace cohort::gateway
