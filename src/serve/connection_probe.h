// Whether the client of a request is still there, asked while its
// translations wait in the queue, so that a client who gave up does not
// keep the replicas busy.
//
// cpp-httplib 0.11.4 does not tell a handler about its connection: Request
// has no is_connection_closed() (later versions added one) and no socket.
// It does give the connection's two addresses (local_addr:local_port,
// remote_addr:remote_port), which name one TCP connection, so the probe
// finds the socket among the process's file descriptors by them, once, and
// then polls it. The socket stays open while the handler runs: httplib
// closes it only after the handler has returned on the same thread.
//
// A client counts as gone once its end is closed or reset (POLLRDHUP,
// POLLHUP, POLLERR, or a read of end-of-file). A client that half-closes its
// sending side and still waits for the answer is taken for gone too; HTTP
// clients do not do that.
#pragma once

#include <string>

namespace httplib {
struct Request;
}

namespace transformer::serve {

class ConnectionProbe {
 public:
  explicit ConnectionProbe(const httplib::Request& request);

  // True once the client has closed or reset the connection; stays true.
  // False when the socket cannot be found (nothing is cancelled then).
  bool client_gone();

 private:
  int find_socket() const;

  std::string local_addr_, remote_addr_;
  int local_port_, remote_port_;
  int fd_ = -2;  // -2: not looked up yet; -1: not found
  bool gone_ = false;
};

}  // namespace transformer::serve
