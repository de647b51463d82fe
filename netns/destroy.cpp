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

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <string_view>

#include "common/fd.hpp"

namespace sockchaos::netns {

// netns/census.hpp says what it keeps; a names line and a values line must share their prefix.
void parse_tcp_counter_rows(std::string_view text, std::map<std::string, int64_t>& out) {
  auto next_line = [&text]() {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    return line;
  };
  auto next_word = [](std::string_view& line) {
    const size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) {
      line = {};
      return std::string_view{};
    }
    line.remove_prefix(start);
    const size_t end = line.find(' ');
    std::string_view word = line.substr(0, end);
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    return word;
  };
  while (!text.empty()) {
    std::string_view names = next_line();
    if (text.empty()) break;
    std::string_view values = next_line();
    const std::string_view prefix = next_word(names);
    if (prefix != next_word(values) || (prefix != "TcpExt:" && prefix != "Tcp:")) continue;
    std::string key(prefix.substr(0, prefix.size() - 1));
    key += '.';
    const size_t stem = key.size();
    for (;;) {
      const std::string_view name = next_word(names), value = next_word(values);
      if (name.empty() || value.empty()) break;
      int64_t v = 0;
      if (std::from_chars(value.data(), value.data() + value.size(), v).ec != std::errc{}) break;
      key.resize(stem);
      key += name;
      out[key] = v;
    }
  }
}

Result<std::map<std::string, int64_t>> tcp_counters(const NetNs& ns) {
  auto scope = ScopedNetns::enter(ns.fd());
  if (!scope.ok()) return scope.error();
  std::map<std::string, int64_t> out;
  std::string text;
  // /proc/thread-self/net: this thread's namespace (/proc/self/net follows the main thread).
  for (const char* file : {"/proc/thread-self/net/netstat", "/proc/thread-self/net/snmp"}) {
    Fd fd(::open(file, O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Error::system(std::string("open ") + file);
    text.clear();
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Error::system(std::string("read ") + file);
      if (n == 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    parse_tcp_counter_rows(text, out);
  }
  return out;
}

}  // namespace sockchaos::netns
