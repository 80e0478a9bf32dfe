#pragma once
// ClientServer: the TCP side of the remote client protocol (client_wire.hpp), run by CLIENT on
// the channel's loop (Boost.Asio). It frames, decodes and dispatches requests to CLIENT and
// writes replies back; malformed or oversized frames are counted and close that connection.
// Boost stays in the .cpp.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "protocols/raft/client_wire.hpp"

namespace boost::asio {
class io_context;
}

namespace cohort::raft {

class ClientServer {
 public:
  using Reply = std::function<void(wire::Response)>;
  /// Called on the loop for each request; `reply` may be called later (once).
  /// `connection` identifies the client connection (for subscribe()).
  using RequestHandler = std::function<void(wire::Request, Reply reply, uint64_t connection)>;

  /// Listens on addr:port (port 0 = any; see port()). Throws std::system_error if it cannot.
  ClientServer(boost::asio::io_context& io, const std::string& addr, uint16_t port,
               RequestHandler handler, uint64_t& malformed);
  ~ClientServer();

  uint16_t port() const;
  /// Pushes a notification to every connection subscribed to `session_id`.
  void notify(uint64_t session_id, const std::string& service, const Buffer& payload);
  /// Pushes notifications of `session_id` to `connection` from now on.
  void subscribe(uint64_t connection, uint64_t session_id);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace cohort::raft
