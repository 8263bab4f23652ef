#include "serve/connection_probe.h"

#include <dirent.h>
#include <httplib.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>

namespace transformer::serve {

namespace {

// An address as httplib writes it (getnameinfo, numeric host and port).
bool address_of(const sockaddr_storage& address, socklen_t length, std::string& host, int& port) {
  char h[NI_MAXHOST], p[NI_MAXSERV];
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&address), length, h, sizeof h, p, sizeof p,
                  NI_NUMERICHOST | NI_NUMERICSERV) != 0)
    return false;
  host = h;
  port = std::atoi(p);
  return true;
}

}  // namespace

ConnectionProbe::ConnectionProbe(const httplib::Request& request)
    : local_addr_(request.local_addr),
      remote_addr_(request.remote_addr),
      local_port_(request.local_port),
      remote_port_(request.remote_port) {}

int ConnectionProbe::find_socket() const {
  DIR* fds = opendir("/proc/self/fd");
  if (!fds) return -1;
  int found = -1;
  for (dirent* entry; found < 0 && (entry = readdir(fds)) != nullptr;) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    const int fd = std::atoi(entry->d_name);
    struct stat status {};
    if (fd == dirfd(fds) || fstat(fd, &status) != 0 || !S_ISSOCK(status.st_mode)) continue;
    sockaddr_storage local{}, remote{};
    socklen_t local_length = sizeof local, remote_length = sizeof remote;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &local_length) != 0 ||
        getpeername(fd, reinterpret_cast<sockaddr*>(&remote), &remote_length) != 0)
      continue;
    std::string local_host, remote_host;
    int local_port = 0, remote_port = 0;
    if (address_of(local, local_length, local_host, local_port) &&
        address_of(remote, remote_length, remote_host, remote_port) && local_port == local_port_ &&
        remote_port == remote_port_ && local_host == local_addr_ && remote_host == remote_addr_)
      found = fd;
  }
  closedir(fds);
  return found;
}

bool ConnectionProbe::client_gone() {
  if (gone_) return true;
  if (fd_ == -2) fd_ = find_socket();
  if (fd_ < 0) return false;
  pollfd p{fd_, POLLIN | POLLRDHUP, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return gone_ = true;
  // Readable without a hang-up: either end-of-file, or the client already
  // sent its next request (which stays unread).
  char byte;
  return gone_ = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

}  // namespace transformer::serve
