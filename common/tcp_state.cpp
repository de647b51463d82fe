#include "common/tcp_state.hpp"

namespace sockchaos {
namespace {
constexpr const char* kStateNames[kTcpStateCount] = {
    nullptr, "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",   "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT",  "LAST_ACK", "LISTEN",   "CLOSING",   "NEW_SYN_RECV"};
}  // namespace

const char* tcp_state_name(int state) {
  if (state < 1 || state >= kTcpStateCount) return nullptr;
  return kStateNames[state];
}

int tcp_state_from_name(const std::string& name) {
  for (int i = 1; i < kTcpStateCount; ++i)
    if (name == kStateNames[i]) return i;
  return -1;
}

bool is_transient_tcp_state(int state) {
  switch (state) {
    case 2: case 3: case 4: case 5: case 8: case 9: case 11: case 12:  // SYN_*, FIN_WAIT*, CLOSE_WAIT, LAST_ACK, CLOSING
      return true;
    default:
      return false;
  }
}

bool StateCounts::only_listening_or_time_wait() const {
  for (int st = 1; st < kTcpStateCount; ++st)
    if (by_state[st] > 0 && st != kTcpListen && st != kTcpTimeWait) return false;
  return true;
}

int64_t StateCounts::total() const {
  int64_t t = 0;
  for (auto c : by_state) t += c;
  return t;
}

int64_t StateCounts::get(const std::string& state_name) const {
  int s = tcp_state_from_name(state_name);
  return s < 0 ? 0 : by_state[static_cast<size_t>(s)];
}

}  // namespace sockchaos
