#include "stack/channel.hpp"

#include <cassert>
#include <future>
#include <stdexcept>

namespace cohort {

/// The sink above the top protocol: hands messages, views and events to the application.
class Channel::Top : public Protocol {
 public:
  explicit Top(Channel& ch) : Protocol("CHANNEL"), ch_(ch) {}
  void up(Message& m) override {
    if (m.has(Message::INTERNAL)) return;
    if (ch_.on_message_) ch_.on_message_(m);
  }
  void up(MessageBatch& b) override {
    for (auto& m : b.messages)
      up(m);
  }
  std::any up(Event& ev) override {
    if (ev.type == event::view_change) {
      const View& v = ev.get<View>();
      {
        std::lock_guard lock(ch_.mu_);
        ch_.view_ = v;
      }
      if (ch_.on_view_) ch_.on_view_(v);
    } else {
      for (auto& [id, h] : ch_.on_event_)
        h(ev);
    }
    return {};
  }

 private:
  Channel& ch_;
};

Channel::Channel(std::unique_ptr<ProtocolStack> stack)
    : stack_(std::move(stack)), top_(std::make_unique<Top>(*this)) {
  stack_->set_top(top_.get());
}

Channel::~Channel() {
  if (!stack_->runtime().in_loop()) close();
  stack_->runtime().shutdown();
}

void Channel::set_name(std::string name) {
  name_ = std::move(name);
}
void Channel::on_message(MessageHandler h) {
  on_message_ = std::move(h);
}
void Channel::on_view(ViewHandler h) {
  on_view_ = std::move(h);
}
uint64_t Channel::on_event(EventHandler h) {
  if (!h) {  // on_event(nullptr) removes every listener
    on_event_.clear();
    return 0;
  }
  on_event_.emplace_back(++next_listener_id_, std::move(h));
  return next_listener_id_;
}

void Channel::remove_event_listener(uint64_t id) {
  std::erase_if(on_event_, [id](const auto& e) { return e.first == id; });
}

void Channel::connect(std::string cluster, Done done) {
  cluster_ = cluster;
  stack_->runtime().post([this, cluster = std::move(cluster), done = std::move(done)] {
    {
      std::lock_guard lock(mu_);
      if (state_ != State::idle) {
        if (done) done(std::make_error_code(std::errc::already_connected));
        return;
      }
    }
    Address addr = Address::random(stack_->runtime().rng(), name_);
    {
      std::lock_guard lock(mu_);
      address_ = addr;
    }
    Event set_addr(event::set_local_address, addr);
    stack_->down(set_addr);
    stack_->start();
    Event conn(event::connect, std::string(cluster));
    stack_->down(conn);
    {
      std::lock_guard lock(mu_);
      state_ = State::connected;
    }
    if (done) done({});
  });
}

void Channel::connect(std::string cluster) {
  assert(!stack_->runtime().in_loop());
  std::promise<std::error_code> p;
  auto f = p.get_future();
  connect(std::move(cluster), [&p](std::error_code ec) { p.set_value(ec); });
  if (auto ec = f.get()) throw std::system_error(ec, "connect");
}

void Channel::send(Message msg) {
  stack_->runtime().post([this, msg = std::move(msg)]() mutable {
    if (!connected()) return;
    stack_->down(msg);
  });
}

void Channel::close() {
  {
    std::lock_guard lock(mu_);
    if (state_ != State::connected) {
      state_ = State::closed;
      return;
    }
  }
  invoke([this] {
    Event disc(event::disconnect);
    stack_->down(disc);
    stack_->stop();
    std::lock_guard lock(mu_);
    state_ = State::closed;
  });
}

void Channel::invoke(std::function<void()> fn) {
  assert(!stack_->runtime().in_loop());
  std::promise<void> p;
  auto f = p.get_future();
  stack_->runtime().post([&] {
    fn();
    p.set_value();
  });
  f.get();
}

View Channel::view() const {
  std::lock_guard lock(mu_);
  return view_;
}

Address Channel::address() const {
  std::lock_guard lock(mu_);
  return address_;
}

bool Channel::connected() const {
  std::lock_guard lock(mu_);
  return state_ == State::connected;
}

}  // namespace cohort
