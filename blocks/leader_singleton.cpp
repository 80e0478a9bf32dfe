#include "blocks/leader_singleton.hpp"

namespace cohort {

struct LeaderSingleton::State {
  Start start;
  Stop stop;
  bool running = false;
  bool closed = false;

  // Loop thread only.
  void update(bool leader, raft::Term term) {
    if (closed || leader == running) return;
    running = leader;
    if (leader)
      start(term);
    else
      stop();
  }
};

LeaderSingleton::LeaderSingleton(RaftHandle& handle, Start start, Stop stop)
    : state_(std::make_shared<State>()), handle_(handle) {
  state_->start = std::move(start);
  state_->stop = std::move(stop);
  std::weak_ptr<State> weak = state_;
  handle.on_leader_change([weak](const raft::LeaderChanged& lc) {
    if (auto s = weak.lock()) s->update(lc.role == raft::Role::leader, lc.term);
  });
  // Already leader before the listener was added: posted after the registration, so it runs
  // after it (FIFO) and no change is missed in between.
  handle.channel().runtime().post([weak, &handle] {
    if (auto s = weak.lock()) s->update(handle.is_leader(), handle.term());
  });
}

LeaderSingleton::~LeaderSingleton() {
  if (handle_.channel().runtime().in_loop()) state_->update(false, 0);
  state_->closed = true;
}

bool LeaderSingleton::running() const {
  return state_->running;
}

}  // namespace cohort
