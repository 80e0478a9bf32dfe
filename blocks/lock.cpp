#include "blocks/lock.hpp"

#include <spdlog/spdlog.h>

#include <mutex>
#include <vector>

#include "blocks/block_errors.hpp"

namespace cohort {

namespace {
// Work to run after the mutex is released: user callbacks and listeners.
using Outbox = std::vector<std::function<void()>>;

void run(Outbox& out) {
  for (auto& f : out)
    f();
  out.clear();
}
}  // namespace

struct Lock::Impl : std::enable_shared_from_this<Impl> {
  // One acquisition in progress.
  struct Acquire {
    enum class Phase : uint8_t { submitted, queued, cancelling };
    uint64_t id = 0;
    Phase phase = Phase::submitted;
    bool timed_out = false;       // try_lock(timeout): the deadline passed
    bool poll_in_flight = false;  // a re-asking `lock` has not answered yet
    TryHandler done;
  };

  Impl(BlockClient& c, Runtime& t, std::string n, LockOptions o)
      : client(c), timers(t), name(std::move(n)), options(std::move(o)) {}

  BlockClient& client;
  Runtime& timers;
  const std::string name;
  const LockOptions options;

  mutable std::mutex mu;
  std::optional<Acquire> acq;
  std::optional<uint64_t> held;  // token, while this client believes it holds the lock
  uint64_t max_seen = 0;         // largest token ever granted to this client
  uint64_t next_id = 0;
  std::vector<Listener> listeners;

  // --- helpers (mu held) -----------------------------------------------------------------

  void emit(Outbox& out, LockClientEvent::Kind kind, uint64_t token) {
    LockClientEvent e{kind, name, token};
    for (auto& l : listeners)
      out.push_back([l, e] { l(e); });
  }

  void finish(Outbox& out, std::error_code ec, std::optional<uint64_t> token) {
    auto done = std::move(acq->done);
    acq.reset();
    out.push_back([done, ec, token] { done(ec, token); });
  }

  // A grant reached us (reply or notification): records it; false if already known.
  bool note_grant(Outbox& out, uint64_t token) {
    if (token <= max_seen) return false;
    max_seen = token;
    held = token;
    emit(out, LockClientEvent::Kind::acquired, token);
    return true;
  }

  bool current(uint64_t id) const { return acq && acq->id == id; }

  // --- timers (any thread) -------------------------------------------------------------------

  void after(Duration delay, std::function<void(Impl&)> fn) {
    std::weak_ptr<Impl> weak = weak_from_this();
    auto fire = [weak, fn] {
      if (auto self = weak.lock()) fn(*self);
    };
    Runtime* rt = &timers;
    if (rt->in_loop())
      rt->schedule(delay, fire);
    else
      rt->post([rt, delay, fire] { rt->schedule(delay, fire); });
  }

  // --- the acquisition -----------------------------------------------------------------------

  void start(bool wait, std::optional<Duration> timeout, TryHandler done) {
    uint64_t id;
    {
      std::unique_lock lock(mu);
      if (acq) {
        lock.unlock();
        done(std::make_error_code(std::errc::operation_in_progress), std::nullopt);
        return;
      }
      id = ++next_id;
      acq.emplace();
      acq->id = id;
      acq->done = std::move(done);
    }
    Duration command_timeout = options.timeout;
    if (timeout) {
      if (command_timeout == Duration(0) || *timeout < command_timeout) command_timeout = *timeout;
      after(*timeout, [id](Impl& self) { self.on_deadline(id); });
    }
    client.submit(
        options.service, wait ? lock_codec::lock(name) : lock_codec::try_lock(name),
        [self = shared_from_this(), id](std::error_code ec, Buffer result) {
          self->on_acquire_reply(id, ec, result, /*poll=*/false);
        },
        command_timeout);
  }

  // The answer to `lock` / `try_lock` (the first one, or a poll).
  void on_acquire_reply(uint64_t id, std::error_code ec, const Buffer& result, bool poll) {
    Outbox out;
    {
      std::unique_lock lock(mu);
      auto r = ec ? BlockReply<LockReply>{} : lock_codec::decode_reply(result);
      if (!current(id)) {  // already decided (by a grant notification)
        if (!ec && r.ok() && r.value.outcome == LockOutcome::acquired)
          orphan_grant(out, r.value.token);
        lock.unlock();
        return run(out);
      }
      if (poll) acq->poll_in_flight = false;
      if (ec || !r.ok()) {
        if (poll && !acq->timed_out) {  // keep waiting; the next poll may do better
          schedule_poll(id);
        } else if (poll) {
          send_cancel(out, id);
        } else {
          finish(out, ec ? ec : make_error_code(r.status), std::nullopt);
          if (ec) cleanup(out);  // the outcome is unknown: we may be queued
        }
      } else {
        switch (r.value.outcome) {
          case LockOutcome::acquired:
            note_grant(out, r.value.token);
            finish(out, {}, r.value.token);
            break;
          case LockOutcome::busy:
            finish(out, {}, std::nullopt);
            break;
          case LockOutcome::queued:
            acq->phase = Acquire::Phase::queued;
            if (acq->timed_out)
              send_cancel(out, id);
            else
              schedule_poll(id);
            break;
          case LockOutcome::cancelled:
          case LockOutcome::not_waiting:
            finish(out, make_error_code(BlockStatus::malformed), std::nullopt);
            break;
        }
      }
    }
    run(out);
  }

  void schedule_poll(uint64_t id) {
    if (options.poll_interval <= Duration(0)) return;
    after(options.poll_interval, [id](Impl& self) { self.poll(id); });
  }

  void poll(uint64_t id) {
    {
      std::lock_guard lock(mu);
      if (!current(id) || acq->phase != Acquire::Phase::queued || acq->timed_out ||
          acq->poll_in_flight)
        return;
      acq->poll_in_flight = true;
    }
    client.submit(
        options.service, lock_codec::lock(name),
        [self = shared_from_this(), id](std::error_code ec, Buffer result) {
          self->on_acquire_reply(id, ec, result, /*poll=*/true);
        },
        options.timeout);
  }

  void on_deadline(uint64_t id) {
    Outbox out;
    {
      std::lock_guard lock(mu);
      if (!current(id)) return;
      acq->timed_out = true;
      // Cancel only once `lock` has answered (queued) and no poll is out: a cancel applied
      // before them would leave this client queued.
      if (acq->phase == Acquire::Phase::queued && !acq->poll_in_flight) send_cancel(out, id);
    }
    run(out);
  }

  // mu held; the submit itself runs from the outbox.
  void send_cancel(Outbox& out, uint64_t id) {
    acq->phase = Acquire::Phase::cancelling;
    out.push_back([self = shared_from_this(), id] {
      self->client.submit(
          self->options.service, lock_codec::cancel(self->name),
          [self, id](std::error_code ec, Buffer result) { self->on_cancel_reply(id, ec, result); },
          self->options.timeout);
    });
  }

  void on_cancel_reply(uint64_t id, std::error_code ec, const Buffer& result) {
    Outbox out;
    {
      std::lock_guard lock(mu);
      auto r = ec ? BlockReply<LockReply>{} : lock_codec::decode_reply(result);
      bool granted = !ec && r.ok() && r.value.outcome == LockOutcome::acquired;
      if (!current(id)) {
        if (granted) orphan_grant(out, r.value.token);
      } else if (granted) {  // the grant won the race: the caller holds the lock
        note_grant(out, r.value.token);
        finish(out, {}, r.value.token);
      } else if (ec || !r.ok()) {
        // Still queued, perhaps: a grant arriving later for nobody is unlocked.
        finish(out, ec ? ec : make_error_code(r.status), std::nullopt);
      } else {
        finish(out, {}, std::nullopt);
      }
    }
    run(out);
  }

  // A grant notification for this client's session.
  void on_grant(uint64_t token) {
    Outbox out;
    {
      std::lock_guard lock(mu);
      if (token <= max_seen) return;
      if (acq) {
        note_grant(out, token);
        finish(out, {}, token);
      } else {
        orphan_grant(out, token);
      }
    }
    run(out);
  }

  // A grant nobody waits for (left over from an acquisition with an unknown outcome): release
  // it so the lock is not held by accident. mu held.
  void orphan_grant(Outbox& out, uint64_t token) {
    if (token <= max_seen) return;
    max_seen = token;
    spdlog::info("lock {}: releasing grant {} that no acquisition waits for", name, token);
    out.push_back([self = shared_from_this()] {
      self->client.submit(
          self->options.service, lock_codec::unlock(self->name), [](std::error_code, Buffer) {},
          self->options.timeout);
    });
  }

  // After `lock` failed with an unknown outcome: leave the queue, or release a grant. mu held;
  // the submit runs from the outbox.
  void cleanup(Outbox& out) {
    out.push_back([self = shared_from_this()] {
      self->client.submit(
          self->options.service, lock_codec::cancel(self->name),
          [self](std::error_code ec, Buffer result) {
            if (ec) return;
            auto r = lock_codec::decode_reply(result);
            if (!r.ok() || r.value.outcome != LockOutcome::acquired) return;
            Outbox out;
            {
              std::lock_guard lock(self->mu);
              self->orphan_grant(out, r.value.token);
            }
            run(out);
          },
          self->options.timeout);
    });
  }

  // --- unlock and check ------------------------------------------------------------------

  void unlock(DoneHandler done) {
    client.submit(
        options.service, lock_codec::unlock(name),
        [self = shared_from_this(), done = std::move(done)](std::error_code ec, Buffer result) {
          Outbox out;
          auto r = ec ? BlockReply<bool>{} : lock_codec::decode_unlock(result);
          std::error_code err = ec ? ec : (r.ok() ? std::error_code() : make_error_code(r.status));
          {
            std::lock_guard lock(self->mu);
            if (self->held && (!err || err == BlockStatus::not_holder)) {
              uint64_t t = *self->held;
              self->held.reset();
              self->emit(out, err ? LockClientEvent::Kind::lost : LockClientEvent::Kind::released,
                         t);
            }
          }
          run(out);
          done(err);
        },
        options.timeout);
  }

  void still_held(CheckHandler done) {
    client.read(
        options.service, lock_codec::holder(name), raft::ReadMode::linearizable,
        [self = shared_from_this(), done = std::move(done)](std::error_code ec,
                                                            raft::ReadOutcome o) {
          auto r = ec ? BlockReply<LockInfo>{} : lock_codec::decode_info(o.result);
          if (ec || !r.ok()) return done(ec ? ec : make_error_code(r.status), false);
          Outbox out;
          bool held;
          {
            std::lock_guard lock(self->mu);
            held = self->held && r.value.held && r.value.token == *self->held;
            // A token older than the one read is gone for good; a newer one may not be ours.
            if (self->held && !held && (!r.value.held || r.value.token > *self->held)) {
              uint64_t t = *self->held;
              self->held.reset();
              self->emit(out, LockClientEvent::Kind::lost, t);
            }
          }
          run(out);
          done({}, held);
        },
        options.timeout);
  }
};

Lock::Lock(BlockClient& client, Runtime& timers, std::string name, LockOptions options)
    : impl_(std::make_shared<Impl>(client, timers, std::move(name), std::move(options))) {
  std::weak_ptr<Impl> weak = impl_;
  client.on_notification(impl_->options.service, [weak](const Notification& n) {
    auto self = weak.lock();
    if (!self) return;
    auto g = lock_codec::decode_grant(n.payload);
    if (g && g->name == self->name) self->on_grant(g->token);
  });
}

Lock::~Lock() = default;

const std::string& Lock::name() const {
  return impl_->name;
}

void Lock::lock(TokenHandler done) {
  impl_->start(true, std::nullopt,
               [done = std::move(done)](std::error_code ec, std::optional<uint64_t> token) {
                 if (!ec && !token) ec = make_error_code(BlockStatus::malformed);
                 done(ec, token.value_or(0));
               });
}

void Lock::try_lock(TryHandler done) {
  impl_->start(false, std::nullopt, std::move(done));
}

void Lock::try_lock(Duration timeout, TryHandler done) {
  impl_->start(true, timeout, std::move(done));
}

void Lock::unlock(DoneHandler done) {
  impl_->unlock(std::move(done));
}

void Lock::still_held(CheckHandler done) {
  impl_->still_held(std::move(done));
}

std::optional<uint64_t> Lock::token() const {
  std::lock_guard lock(impl_->mu);
  return impl_->held;
}

void Lock::add_listener(Listener l) {
  std::lock_guard lock(impl_->mu);
  impl_->listeners.push_back(std::move(l));
}

}  // namespace cohort
