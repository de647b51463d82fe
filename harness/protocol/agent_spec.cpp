#include "harness/protocol/agent_spec.hpp"

#include <string_view>

namespace sockchaos::harness {
namespace {

// Reading helpers: every failure names the key path, e.g. "client/socket/rcvtimeo_ns".
class Reader {
 public:
  Reader(const json& object, std::string path) : object_(object), path_(std::move(path)) {
    if (!object_.is_object()) fail("", "an object");
  }

  bool has(const char* key) const { return object_.contains(key); }

  const json& at(const char* key) const {
    auto it = object_.find(key);
    if (it == object_.end()) throw AgentSpecError("agent spec: missing " + name(key));
    return *it;
  }

  Reader child(const char* key) const { return Reader(at(key), name(key)); }

  std::string str(const char* key) const {
    const json& v = at(key);
    if (!v.is_string()) fail(key, "a string");
    return v.get<std::string>();
  }
  int64_t i64(const char* key) const {
    const json& v = at(key);
    if (!v.is_number_integer()) fail(key, "an integer");
    return v.get<int64_t>();
  }
  int i32(const char* key) const {
    const int64_t v = i64(key);
    if (v < INT32_MIN || v > INT32_MAX) fail(key, "a 32-bit integer");
    return static_cast<int>(v);
  }
  double num(const char* key) const {
    const json& v = at(key);
    if (!v.is_number()) fail(key, "a number");
    return v.get<double>();
  }
  bool boolean(const char* key) const {
    const json& v = at(key);
    if (!v.is_boolean()) fail(key, "a boolean");
    return v.get<bool>();
  }
  Nanos nanos(const char* key) const { return Nanos(i64(key)); }
  template <class E>
  E enumerated(const char* key) const {
    auto value = parse_name<E>(str(key));
    if (!value) fail(key, "a known name");
    return *value;
  }
  std::vector<std::string> strings(const char* key) const {
    const json& v = at(key);
    if (!v.is_array()) fail(key, "an array of strings");
    std::vector<std::string> out;
    for (const json& item : v) {
      if (!item.is_string()) fail(key, "an array of strings");
      out.push_back(item.get<std::string>());
    }
    return out;
  }

  template <class T, class F>
  void optional(const char* key, std::optional<T>& out, F read) const {
    if (has(key)) out = (this->*read)(key);
  }

  [[noreturn]] void fail(const char* key, const char* expected) const {
    throw AgentSpecError("agent spec: " + name(key) + " must be " + expected);
  }
  std::string name(const char* key) const {
    if (path_.empty()) return key;
    if (std::string_view(key).empty()) return path_;
    return path_ + "/" + key;
  }

 private:
  const json& object_;
  std::string path_;
};

json workload_to_json(const Workload& w) {
  json out = json::object();
  out["kind"] = name(w.kind);
  out["bytes_per_second"] = w.bytes_per_second;
  out["per_second"] = w.per_second;
  out["count"] = w.count;
  out["connections"] = w.connections;
  out["request"] = w.request;
  if (w.duration) out["duration_ns"] = w.duration->count();
  out["command"] = w.command;
  return out;
}

Workload workload_from_json(const Reader& r) {
  Workload w;
  w.kind = r.enumerated<WorkloadKind>("kind");
  w.bytes_per_second = r.num("bytes_per_second");
  w.per_second = r.num("per_second");
  w.count = r.i32("count");
  w.connections = r.i32("connections");
  w.request = r.str("request");
  r.optional("duration_ns", w.duration, &Reader::nanos);
  w.command = r.strings("command");
  return w;
}

}  // namespace

json socket_options_to_json(const SocketOptions& o) {
  json out = json::object();
  if (o.keepalive) {
    out["keepalive"] = {{"enabled", o.keepalive->enabled},
                        {"idle_s", o.keepalive->idle.count()},
                        {"interval_s", o.keepalive->interval.count()},
                        {"count", o.keepalive->count}};
  }
  if (o.tcp_user_timeout) out["tcp_user_timeout_ns"] = o.tcp_user_timeout->count();
  if (o.linger) {
    if (o.linger->has_value()) {
      out["linger"] = o.linger->value().count();
    } else {
      out["linger"] = "off";
    }
  }
  if (o.rcvtimeo) out["rcvtimeo_ns"] = o.rcvtimeo->count();
  if (o.sndtimeo) out["sndtimeo_ns"] = o.sndtimeo->count();
  if (o.nodelay) out["nodelay"] = *o.nodelay;
  if (o.quickack) out["quickack"] = *o.quickack;
  if (o.reuseaddr) out["reuseaddr"] = *o.reuseaddr;
  if (o.reuseport) out["reuseport"] = *o.reuseport;
  if (o.bind_address_no_port) out["bind_address_no_port"] = *o.bind_address_no_port;
  if (o.syn_count) out["syn_count"] = *o.syn_count;
  if (o.rcvbuf) out["rcvbuf"] = *o.rcvbuf;
  if (o.sndbuf) out["sndbuf"] = *o.sndbuf;
  if (!o.raw.empty()) {
    json raw = json::array();
    for (const RawSocketOption& r : o.raw) {
      raw.push_back({{"level", r.level}, {"name", r.name}, {"int", r.int_value}});
    }
    out["raw"] = std::move(raw);
  }
  return out;
}

static SocketOptions socket_options_from_reader(const Reader& r) {
  SocketOptions o;
  if (r.has("keepalive")) {
    Reader k = r.child("keepalive");
    Keepalive keepalive;
    keepalive.enabled = k.boolean("enabled");
    keepalive.idle = std::chrono::seconds(k.i64("idle_s"));
    keepalive.interval = std::chrono::seconds(k.i64("interval_s"));
    keepalive.count = k.i32("count");
    o.keepalive = keepalive;
  }
  r.optional("tcp_user_timeout_ns", o.tcp_user_timeout, &Reader::nanos);
  if (r.has("linger")) {
    const json& v = r.at("linger");
    if (v.is_string() && v.get<std::string>() == "off") {
      o.linger = std::optional<Nanos>{};
    } else if (v.is_number_integer()) {
      o.linger = std::optional<Nanos>{Nanos(v.get<int64_t>())};
    } else {
      r.fail("linger", "\"off\" or an integer of nanoseconds");
    }
  }
  r.optional("rcvtimeo_ns", o.rcvtimeo, &Reader::nanos);
  r.optional("sndtimeo_ns", o.sndtimeo, &Reader::nanos);
  r.optional("nodelay", o.nodelay, &Reader::boolean);
  r.optional("quickack", o.quickack, &Reader::boolean);
  r.optional("reuseaddr", o.reuseaddr, &Reader::boolean);
  r.optional("reuseport", o.reuseport, &Reader::boolean);
  r.optional("bind_address_no_port", o.bind_address_no_port, &Reader::boolean);
  r.optional("syn_count", o.syn_count, &Reader::i32);
  r.optional("rcvbuf", o.rcvbuf, &Reader::i32);
  r.optional("sndbuf", o.sndbuf, &Reader::i32);
  if (r.has("raw")) {
    const json& raw = r.at("raw");
    if (!raw.is_array()) r.fail("raw", "an array");
    for (size_t i = 0; i < raw.size(); ++i) {
      Reader item(raw[i], r.name("raw") + "/" + std::to_string(i));
      o.raw.push_back(RawSocketOption{item.i32("level"), item.i32("name"), item.i32("int")});
    }
  }
  return o;
}

SocketOptions socket_options_from_json(const json& v) {
  return socket_options_from_reader(Reader(v, "socket"));
}

json make_client_agent_spec(const ClientSpec& c, const std::string& server_address,
                            Nanos max_lifetime) {
  json client = json::object();
  client["on"] = c.on;
  client["connect_host"] = c.connect_host;
  client["connect_port"] = c.connect_port;
  client["workload"] = workload_to_json(c.workload);
  client["socket"] = socket_options_to_json(c.socket);
  if (c.app_timeout) client["app_timeout_ns"] = c.app_timeout->count();
  if (c.connect_timeout) client["connect_timeout_ns"] = c.connect_timeout->count();

  json spec = json::object();
  spec["role"] = name(AgentRole::client);
  spec["address"] = server_address;
  spec["max_lifetime_ns"] = max_lifetime.count();
  spec["client"] = std::move(client);
  return spec;
}

json make_server_agent_spec(const ServerSpec& s, const std::string& listen_address,
                            const std::string& upstream_address, Nanos max_lifetime) {
  json server = json::object();
  server["on"] = s.on;
  server["port"] = s.port;
  server["behavior"] = name(s.behavior);
  server["socket"] = socket_options_to_json(s.socket);
  server["close"] = name(s.close);
  server["response"] = s.response;
  server["command"] = s.command;
  server["upstream"] = s.upstream;

  json spec = json::object();
  spec["role"] = name(AgentRole::server);
  spec["address"] = listen_address;
  spec["upstream_address"] = upstream_address;
  spec["max_lifetime_ns"] = max_lifetime.count();
  spec["server"] = std::move(server);
  return spec;
}

AgentSpec parse_agent_spec(const json& value) {
  Reader r(value, "");
  AgentSpec spec;
  const auto role = parse_name<AgentRole>(r.str("role"));
  if (!role) r.fail("role", "\"client\" or \"server\"");
  spec.role = *role;
  spec.address = r.str("address");
  if (r.has("max_lifetime_ns")) spec.max_lifetime = r.nanos("max_lifetime_ns");
  if (spec.role == AgentRole::client) {
    Reader c = r.child("client");
    spec.client.on = c.str("on");
    spec.client.connect_host = c.str("connect_host");
    spec.client.connect_port = c.i32("connect_port");
    spec.client.workload = workload_from_json(c.child("workload"));
    spec.client.socket = socket_options_from_reader(c.child("socket"));
    c.optional("app_timeout_ns", spec.client.app_timeout, &Reader::nanos);
    c.optional("connect_timeout_ns", spec.client.connect_timeout, &Reader::nanos);
  } else {
    if (r.has("upstream_address")) spec.upstream_address = r.str("upstream_address");
    Reader s = r.child("server");
    spec.server.on = s.str("on");
    spec.server.port = s.i32("port");
    spec.server.behavior = s.enumerated<ServerBehavior>("behavior");
    spec.server.socket = socket_options_from_reader(s.child("socket"));
    spec.server.close = s.enumerated<CloseMode>("close");
    spec.server.response = s.str("response");
    spec.server.command = s.strings("command");
    spec.server.upstream = s.str("upstream");
  }
  return spec;
}

}  // namespace sockchaos::harness
