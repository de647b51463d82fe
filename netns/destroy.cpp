#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "netns/census.hpp"

namespace sockchaos::netns {

namespace {
struct DiagRequest {
  nlmsghdr nlh;
  inet_diag_req_v2 req;
};

Status send_request(int fd, uint16_t type, uint16_t flags, uint8_t family, const inet_diag_sockid* id) {
  DiagRequest r{};
  r.nlh.nlmsg_len = sizeof r;
  r.nlh.nlmsg_type = type;
  r.nlh.nlmsg_flags = flags;
  r.req.sdiag_family = family;
  r.req.sdiag_protocol = IPPROTO_TCP;
  r.req.idiag_states = ~0u;
  if (id) r.req.id = *id;
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  if (::sendto(fd, &r, sizeof r, 0, reinterpret_cast<sockaddr*>(&sa), sizeof sa) < 0)
    return Error::system("sock_diag send");
  return {};
}
}  // namespace

Result<int> destroy_all_tcp_sockets(const NetNs& ns) {
  int fd;
  {
    auto scope = ScopedNetns::enter(ns.fd());
    if (!scope.ok()) return scope.error();
    fd = ::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return Error::system("socket(NETLINK_SOCK_DIAG)");
  }
  Fd guard(fd);
  std::vector<std::pair<uint8_t, inet_diag_sockid>> found;
  for (uint8_t family : {static_cast<uint8_t>(AF_INET), static_cast<uint8_t>(AF_INET6)}) {
    if (auto st = send_request(fd, SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, family, nullptr); !st.ok())
      return st.error();
    std::vector<char> buf(1 << 16);
    bool done = false;
    while (!done) {
      ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error::system("sock_diag dump");
      }
      for (auto* h = reinterpret_cast<nlmsghdr*>(buf.data()); NLMSG_OK(h, static_cast<unsigned>(n));
           h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
          done = true;
          break;
        }
        auto* msg = static_cast<inet_diag_msg*>(NLMSG_DATA(h));
        found.emplace_back(msg->idiag_family, msg->id);
      }
    }
  }
  int destroyed = 0;
  for (const auto& [family, id] : found) {
    if (!send_request(fd, SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, family, &id).ok()) continue;
    char ack[512];
    ssize_t n = ::recv(fd, ack, sizeof ack, 0);
    if (n >= static_cast<ssize_t>(NLMSG_LENGTH(sizeof(nlmsgerr)))) {
      auto* h = reinterpret_cast<nlmsghdr*>(ack);
      auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(h));
      if (h->nlmsg_type == NLMSG_ERROR && e->error == 0) ++destroyed;
      else if (h->nlmsg_type == NLMSG_ERROR && e->error == -EOPNOTSUPP)
        return Error{"SOCK_DESTROY is not supported by this kernel (CONFIG_INET_DIAG_DESTROY)", EOPNOTSUPP};
    }
  }
  return destroyed;
}

}  // namespace sockchaos::netns

#include <fstream>
#include <sstream>

namespace sockchaos::netns {

Result<std::map<std::string, int64_t>> tcp_counters(const NetNs& ns) {
  auto scope = ScopedNetns::enter(ns.fd());
  if (!scope.ok()) return scope.error();
  std::map<std::string, int64_t> out;
  // /proc/thread-self/net: this thread's namespace (/proc/self/net follows the main thread).
  for (const char* file : {"/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp"}) {
    std::ifstream in(file);
    if (!in) return Error::system(std::string("open ") + file);
    std::string names, values;
    while (std::getline(in, names) && std::getline(in, values)) {
      std::istringstream n(names), v(values);
      std::string prefix, vprefix, name;
      n >> prefix;
      v >> vprefix;
      if (prefix != "TcpExt:" && prefix != "Tcp:") continue;
      prefix.pop_back();
      int64_t value;
      while (n >> name && v >> value) out[prefix + "." + name] = value;
    }
  }
  return out;
}

}  // namespace sockchaos::netns
