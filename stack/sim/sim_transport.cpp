#include "stack/sim/sim_transport.hpp"

#include "stack/frame.hpp"
#include "stack/protocol_registry.hpp"
#include "stack/protocol_stack.hpp"
#include "stack/sim/sim_world.hpp"
#include "stack/view.hpp"

namespace cohort::sim {

SimTransport::SimTransport() : Transport("SIM") {
  declare("views", views_, "install views from the simulated membership (off when GMS is used)");
}

SimTransport::~SimTransport() {
  if (attached_) sim_runtime().world().network().detach(this);
}

SimRuntime& SimTransport::sim_runtime() const {
  return dynamic_cast<SimRuntime&>(runtime());
}
const std::string& SimTransport::node_name() const {
  return sim_runtime().name();
}

std::any SimTransport::down(Event& ev) {
  if (ev.type == event::find_members) {
    std::vector<Address> out;
    for (auto* t : sim_runtime().world().network().members(cluster_))
      out.push_back(t->local_address());
    return out;
  }
  return Transport::down(ev);
}

void SimTransport::connect() {
  sim_runtime().world().network().attach(this);
  attached_ = true;
  if (views_) install_views();
}

void SimTransport::disconnect() {
  if (!attached_) return;
  sim_runtime().world().network().detach(this);
  attached_ = false;
  if (views_) install_views();
}

void SimTransport::install_views() {
  // Simulated membership is exact (like LOOPBACK): every member gets the new view directly.
  auto members = sim_runtime().world().network().members(cluster_);
  if (members.empty()) return;
  std::vector<Address> addrs;
  uint64_t id = 0;
  for (auto* t : members) {
    addrs.push_back(t->local_address());
    id = std::max(id, t->view_id_);
  }
  View v(ViewId{addrs.front(), id + 1}, addrs);
  for (auto* t : members) {
    t->view_id_ = id + 1;
    Address dest = t->local_address();
    auto& world = sim_runtime().world();
    t->sim_runtime().post([&world, dest, v, cluster = cluster_] {
      for (auto* r : world.network().members(cluster))
        if (r->local_address() == dest) {
          Event ev(event::view_change, v);
          r->up_protocol()->up(ev);
        }
    });
  }
}

void SimTransport::receive(const Buffer& frame) {
  std::string error;
  auto decoded = decode_frame(frame, error);
  if (!decoded) return void(++malformed_);
  if (decoded->cluster != cluster_) return void(++dropped_);
  deliver(decoded->batch);
}

void SimTransport::send_to_group(Message& msg) {
  if (!attached_) return void(++dropped_);
  codec::Writer w(64 + msg.payload().size());
  encode_frame(w, cluster_, local_, Address(), std::span(&msg, 1));
  auto& net = sim_runtime().world().network();
  net.send(this, net.members(cluster_), w.take_buffer());
}

void SimTransport::send_to_member(Message& msg) {
  if (!attached_) return void(++dropped_);
  auto& net = sim_runtime().world().network();
  for (auto* t : net.members(cluster_)) {
    if (t->local_address() != msg.dest()) continue;
    codec::Writer w(96 + msg.payload().size());
    encode_frame(w, cluster_, local_, msg.dest(), std::span(&msg, 1));
    net.send(this, {t}, w.take_buffer());
    return;
  }
  ++dropped_;
}

void register_sim_transport() {
  register_protocol<SimTransport>("SIM");
}

}  // namespace cohort::sim
