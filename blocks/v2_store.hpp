#pragma once
// V2Store: etcd's v2 keys store as a replicated StateMachine (a service of the ServiceRegistry),
// served over HTTP by gateway/. A tree of keys: files with a value, directories with children,
// each with createdIndex and modifiedIndex: the store's index, which every change (and every
// expiry) advances by one, as in etcd's v2 store. It is not the log index: one log entry may be
// a batch of many writes (the gateway's way to amortize Raft), each with its own index. Operations,
// results and error codes follow etcd 3.4's v2store (set, create incl. in-order keys, update,
// compareAndSwap, delete, compareAndDelete, get with recursive listings).
//
// TTLs expire on cluster time (ApplyContext::cluster_time_ms), never a member's clock: a key
// with ttl expires at the first entry whose cluster time reaches its deadline (the gateway on
// the leader submits Op::sync while TTL keys exist, as etcd's leader does with SYNC).
//
// The last `history_capacity` events are kept (like etcd's event history) so that a watch with
// waitIndex can be answered from the past; older indexes give 401 event_index_cleared.
// Watchers themselves are local to a member (not replicated): the gateway registers them and
// they fire on the loop, inside apply(), once (etcd's non-stream watchers).
//
// Loop affinity: every call on the owning channel's loop thread.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "blocks/state_machine.hpp"
#include "blocks/v2_codec.hpp"

namespace cohort {

class V2Store : public StateMachine {
 public:
  static constexpr size_t default_history_capacity = 1000;
  using WatchCallback = std::function<void(const v2::Event&)>;

  explicit V2Store(size_t history_capacity = default_history_capacity);
  ~V2Store() override;

  /// The store's index: the number of changes so far (etcd's CurrentIndex).
  uint64_t index() const { return index_; }
  /// Cluster time of the last entry seen.
  uint64_t now_ms() const { return now_ms_; }
  bool has_ttl_keys() const { return !expiry_.empty(); }
  size_t watcher_count() const { return watchers_.size(); }

  /// Runs a command against the store as if applied at `ctx` (apply() without the codec).
  v2::Reply execute(const ApplyContext& ctx, const v2::Command& c);
  /// A read of the current state (Op::get).
  v2::Reply get(std::string_view path, bool recursive, bool sorted) const;

  /// Watches `path` (and below when recursive) for the first event with index >= since_index
  /// (0: the next change). If the history has one, returns it at once (etcd_index = index());
  /// an index older than the history gives event_index_cleared. Otherwise registers `cb` and
  /// returns nothing; `*id` is set for cancel_watch. cb runs once, inside apply().
  std::optional<v2::Reply> watch(std::string_view path, bool recursive, uint64_t since_index,
                                 WatchCallback cb, uint64_t* id);
  void cancel_watch(uint64_t id);

  /// A command, or a batch of them (v2::encode_batch): results in v2::encode_batch_results.
  Buffer apply(const ApplyContext& ctx, const Buffer& command) override;
  /// Only Op::get (other ops give write_in_query).
  Buffer query(const Buffer& query) const override;
  /// u8 version, varint index, varint now_ms, the tree in pre-order, then the history.
  Buffer snapshot() const override;
  void restore(const Buffer& snapshot) override;
  /// Expires TTL keys whose deadline is at or before ctx.cluster_time_ms.
  void advance_time(const ApplyContext& ctx) override;

 private:
  struct TreeNode;
  using Children = std::map<std::string, std::unique_ptr<TreeNode>, std::less<>>;
  struct Watcher {
    std::string path;
    bool recursive = false;
    uint64_t since_index = 0;
    WatchCallback cb;
  };

  v2::Reply set(const ApplyContext& ctx, const v2::Command& c, v2::Action action);
  v2::Reply create(const ApplyContext& ctx, const v2::Command& c);
  v2::Reply update(const ApplyContext& ctx, const v2::Command& c);
  v2::Reply compare_and_swap(const ApplyContext& ctx, const v2::Command& c);
  v2::Reply remove(const ApplyContext& ctx, const v2::Command& c);
  v2::Reply compare_and_delete(const ApplyContext& ctx, const v2::Command& c);

  /// The node at a clean path, or an error (key_not_found, not_dir on a file in the way).
  const TreeNode* find(const std::string& path, v2::Error* err) const;
  /// Walks to the parent directory of `path`, creating missing directories at `index`.
  TreeNode* make_parents(const std::string& path, uint64_t index, v2::Error* err);
  v2::Node extern_node(const TreeNode& n, bool recursive, bool sorted, int depth) const;
  v2::Node plain_node(const TreeNode& n) const { return extern_node(n, false, false, -1); }
  void set_ttl(TreeNode& n, const v2::Command& c, uint64_t now);
  void forget_ttls(const TreeNode& n);
  void detach(TreeNode& n);
  void expire(const ApplyContext& ctx);
  v2::Error error(v2::Errc code, std::string cause) const;
  /// Records a change: history, index, watchers.
  v2::Reply record(v2::Event e, const std::string& removed_dir);
  void notify(const v2::Event& e, const std::string& removed_dir);
  bool compare(const TreeNode& n, const v2::Command& c, v2::Error* err) const;

  std::unique_ptr<TreeNode> root_;
  uint64_t index_ = 0;
  uint64_t now_ms_ = 0;
  std::set<std::pair<uint64_t, std::string>> expiry_;  ///< (deadline, path)
  size_t history_capacity_;
  std::deque<v2::Event> history_;  ///< oldest first, indexes non-decreasing
  uint64_t history_start_ = 0;     ///< the index of the oldest event once the history dropped one
  std::map<uint64_t, Watcher> watchers_;
  uint64_t next_watcher_id_ = 1;
};

}  // namespace cohort
