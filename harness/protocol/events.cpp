#include "harness/protocol/events.hpp"

namespace sockchaos::harness {
namespace {

constexpr size_t kMaxLine = 16 << 20;  // a batch of 50 ms of flat-out probes is far smaller

json item_to_json(AgentEventKind kind, const WorkItem& item) {
  json out = json::array({item.t, item.value});
  if (item.error.empty()) out.push_back(nullptr);
  else out.push_back(item.error);
  if (kind == AgentEventKind::probes) out.push_back(item.t_end);
  return out;
}

Error bad(const std::string& what) { return Error::plain("agent event: " + what); }

// At most `limit` bytes of untrusted text for a message: printable ASCII kept, every other byte
// as \xNN, so the message is valid UTF-8 on one line (it ends up in results.json).
std::string shown(std::string_view text, size_t limit = 80) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < text.size() && i < limit; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\\x";
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  if (text.size() > limit) out += "...";
  return out;
}

bool read_int(const json& object, const char* key, int64_t& out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return false;
  out = it->get<int64_t>();
  return true;
}

bool read_string(const json& object, const char* key, std::string& out) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return false;
  out = it->get<std::string>();
  return true;
}

}  // namespace

json to_json(const AgentEvent& e) {
  json out = json::object();
  out["ev"] = name(e.kind);
  out["t"] = e.t;
  switch (e.kind) {
    case AgentEventKind::listening:
      out["port"] = e.port;
      break;
    case AgentEventKind::error:
    case AgentEventKind::conn_error:
      out["syscall"] = e.syscall;
      out["errno"] = e.error;
      if (e.tcp_info) out["tcp_info"] = to_json(*e.tcp_info);
      break;
    case AgentEventKind::probes:
    case AgentEventKind::requests: {
      json items = json::array();
      for (const auto& item : e.items) items.push_back(item_to_json(e.kind, item));
      out["items"] = std::move(items);
      break;
    }
    case AgentEventKind::accept:
      out["count"] = e.count;
      break;
    case AgentEventKind::fatal:
      out["message"] = e.message;
      if (!e.option.empty()) out["option"] = e.option;
      if (!e.error.empty()) out["errno"] = e.error;
      break;
    case AgentEventKind::start:
    case AgentEventKind::ready:
    case AgentEventKind::done:
      break;
  }
  return out;
}

std::string format_agent_event(const AgentEvent& event) {
  std::string line = to_json(event).dump(-1, ' ', false, json::error_handler_t::replace);
  line.push_back('\n');
  return line;
}

Result<AgentEvent> parse_agent_event(std::string_view line) {
  if (line.size() > kMaxLine) return bad("line of " + std::to_string(line.size()) + " bytes (too long)");
  json v = json::parse(line.begin(), line.end(), nullptr, false);
  if (v.is_discarded() || !v.is_object()) {
    return bad("not a JSON object: \"" + shown(line) + "\"");
  }
  AgentEvent e;
  std::string kind;
  if (!read_string(v, "ev", kind)) return bad("missing \"ev\"");
  auto parsed = parse_name<AgentEventKind>(kind);
  if (!parsed) return bad("unknown event \"" + shown(kind) + "\"");
  e.kind = *parsed;
  if (!read_int(v, "t", e.t) || e.t < 0) return bad("\"" + name_string(e.kind) + "\" without a time \"t\"");
  switch (e.kind) {
    case AgentEventKind::listening: {
      int64_t port = 0;
      if (read_int(v, "port", port)) e.port = static_cast<int>(port);
      break;
    }
    case AgentEventKind::error:
    case AgentEventKind::conn_error: {
      read_string(v, "syscall", e.syscall);
      auto it = v.find("errno");
      if (it == v.end() || !it->is_string()) return bad("\"" + name_string(e.kind) + "\" without an \"errno\" name");
      e.error = it->get<std::string>();
      if (auto info = v.find("tcp_info"); info != v.end()) {
        std::string why;
        e.tcp_info = tcp_info_from_json(*info, &why);
        if (!e.tcp_info) return bad(why);
      }
      break;
    }
    case AgentEventKind::probes:
    case AgentEventKind::requests: {
      auto it = v.find("items");
      if (it == v.end() || !it->is_array()) return bad("\"" + name_string(e.kind) + "\" without \"items\"");
      e.items.reserve(it->size());
      for (const auto& raw : *it) {
        if (!raw.is_array() || raw.size() < 3 || !raw[0].is_number_integer() || !raw[1].is_number_integer() ||
            !(raw[2].is_null() || raw[2].is_string()))
          return bad("\"" + name_string(e.kind) + "\" item is not [t, value, null | error" +
                     std::string(e.kind == AgentEventKind::probes ? ", t_end]" : "]"));
        WorkItem item;
        item.t = raw[0].get<int64_t>();
        item.value = raw[1].get<int64_t>();
        if (raw[2].is_string()) item.error = raw[2].get<std::string>();
        item.t_end = raw.size() >= 4 && raw[3].is_number_integer() ? raw[3].get<int64_t>() : item.t;
        e.items.push_back(std::move(item));
      }
      break;
    }
    case AgentEventKind::accept:
      if (!read_int(v, "count", e.count)) e.count = 1;
      break;
    case AgentEventKind::fatal:
      if (!read_string(v, "message", e.message)) e.message = "fatal error";
      read_string(v, "option", e.option);
      read_string(v, "errno", e.error);
      break;
    case AgentEventKind::start:
    case AgentEventKind::ready:
    case AgentEventKind::done:
      break;
  }
  return e;
}

}  // namespace sockchaos::harness
