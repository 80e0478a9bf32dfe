#include "stack/protocol_stack.hpp"

#include <fmt/format.h>

namespace cohort {

ProtocolStack::~ProtocolStack() {
  if (running_) stop();
  for (auto& p : protocols_)
    p->destroy();
}

void ProtocolStack::add(std::unique_ptr<Protocol> p) {
  if (initialised_) throw std::logic_error("ProtocolStack::add after init; use insert_above");
  p->stack_ = this;
  protocols_.push_back(std::move(p));
}

void ProtocolStack::set_top(Protocol* top) {
  top_ = top;
  if (top_) top_->stack_ = this;
  if (initialised_) relink();
}

void ProtocolStack::relink() {
  for (size_t i = 0; i < protocols_.size(); ++i) {
    protocols_[i]->down_ = i == 0 ? nullptr : protocols_[i - 1].get();
    protocols_[i]->up_ = i + 1 < protocols_.size() ? protocols_[i + 1].get() : top_;
  }
  if (top_) top_->down_ = protocols_.empty() ? nullptr : protocols_.back().get();
}

void ProtocolStack::init() {
  if (protocols_.empty()) throw std::invalid_argument("the stack has no protocols");
  if (!protocols_.front()->is_transport())
    throw std::invalid_argument(
        fmt::format("{} is at the bottom of the stack, but the bottom must be a transport",
                    protocols_.front()->name()));
  for (size_t i = 1; i < protocols_.size(); ++i)
    if (protocols_[i]->is_transport())
      throw std::invalid_argument(
          fmt::format("transport {} must be at the bottom of the stack", protocols_[i]->name()));
  relink();
  for (auto& p : protocols_)
    p->init();
  initialised_ = true;
}

void ProtocolStack::start() {
  for (auto it = protocols_.rbegin(); it != protocols_.rend(); ++it)
    (*it)->start();
  running_ = true;
}

void ProtocolStack::stop() {
  running_ = false;
  for (auto it = protocols_.rbegin(); it != protocols_.rend(); ++it)
    (*it)->stop();
}

Protocol* ProtocolStack::find(std::string_view name) const {
  for (auto& p : protocols_)
    if (p->name() == name) return p.get();
  return nullptr;
}

void ProtocolStack::insert_above(std::unique_ptr<Protocol> p, std::string_view above) {
  for (size_t i = 0; i < protocols_.size(); ++i) {
    if (protocols_[i]->name() != above) continue;
    if (p->is_transport()) throw std::invalid_argument("a transport cannot be inserted");
    p->stack_ = this;
    Protocol* raw = p.get();
    protocols_.insert(protocols_.begin() + static_cast<long>(i) + 1, std::move(p));
    relink();
    if (initialised_) raw->init();  // else init() will initialise it with the others
    if (running_) raw->start();
    return;
  }
  throw std::invalid_argument(fmt::format("no protocol {} in the stack", above));
}

std::unique_ptr<Protocol> ProtocolStack::remove(std::string_view name) {
  for (size_t i = 0; i < protocols_.size(); ++i) {
    if (protocols_[i]->name() != name) continue;
    if (i == 0) throw std::invalid_argument("the transport cannot be removed");
    std::unique_ptr<Protocol> p = std::move(protocols_[i]);
    protocols_.erase(protocols_.begin() + static_cast<long>(i));
    if (running_) p->stop();
    p->destroy();
    relink();
    p->up_ = p->down_ = nullptr;
    return p;
  }
  return nullptr;
}

std::string ProtocolStack::describe() const {
  std::string out;
  for (auto& p : protocols_) {
    out += p->name();
    for (auto& a : p->attributes())
      out += fmt::format(" {}=\"{}\"", a.name, a.get());
    out += '\n';
  }
  return out;
}

}  // namespace cohort
