#include "netns/linkemu/impairment.hpp"

#include <cctype>
#include <cmath>
#include <cstdio>

#include "common/clock.hpp"
#include "common/duration.hpp"

namespace sockchaos::linkemu {

namespace {

constexpr Nanos kMaxDelay = std::chrono::seconds(60);
constexpr double kMinRate = 1e3;    // 1 kbit/s: one 1514-byte frame every 12 s
constexpr double kMaxRate = 100e9;  // 100 Gbit/s: beyond anything a veth forwards
constexpr uint64_t kMaxQueue = 1ull << 30;
constexpr int kMinMtu = 68;     // RFC 791: every IPv4 module forwards 68 octets unfragmented
constexpr int kMaxMtu = 65535;  // veth's max_mtu

std::string format_number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// A non-negative decimal at the start of text; the rest goes to *unit. False without digits.
bool split_decimal(const std::string& text, double* value, std::string* unit) {
  size_t i = 0;
  bool digits = false;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, digits = true;
  if (i < text.size() && text[i] == '.') {
    ++i;
    bool frac = false;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i, frac = true;
    if (!frac) return false;
  }
  if (!digits) return false;
  *value = std::stod(text.substr(0, i));
  *unit = text.substr(i);
  return true;
}

void check_fraction(std::vector<ImpairmentProblem>& out, const std::string& pointer, double v) {
  if (std::isnan(v) || v < 0 || v > 1)
    out.push_back(
        {pointer,
         "expected a fraction between 0 and 1; got " + format_number(v) +
             (v > 1 && v <= 100 ? " (for " + format_number(v) + "% write " + format_number(v / 100) + ")" : "")});
}

}  // namespace

const char* to_string(Distribution d) {
  switch (d) {
    case Distribution::kNormal:
      return "normal";
    case Distribution::kUniform:
      return "uniform";
    case Distribution::kPareto:
      return "pareto";
    case Distribution::kParetoNormal:
      return "paretonormal";
  }
  return "normal";
}

std::optional<Distribution> parse_distribution(const std::string& text) {
  for (auto d : {Distribution::kNormal, Distribution::kUniform, Distribution::kPareto, Distribution::kParetoNormal})
    if (text == to_string(d)) return d;
  return std::nullopt;
}

double GilbertElliott::stationary_loss() const {
  if (p + r <= 0) return 1 - k;  // never leaves the good state it starts in
  double bad = p / (p + r);
  return bad * (1 - h) + (1 - bad) * (1 - k);
}

bool Impairment::is_clean() const {
  return delay.count() == 0 && jitter.count() == 0 && loss == 0 && !gilbert_elliott && duplicate == 0 && reorder == 0 &&
         corrupt == 0 && rate_bps == 0;
}

std::vector<ImpairmentProblem> validate(const Impairment& i) {
  std::vector<ImpairmentProblem> out;
  auto check_duration = [&](const char* pointer, Nanos d) {
    if (d.count() < 0)
      out.push_back({pointer, "must not be negative; got " + std::to_string(d.count()) + " ns"});
    else if (d > kMaxDelay)
      out.push_back(
          {pointer, "must be at most 60s (no path on Earth or to a geostationary satellite takes longer); got " +
                        format_duration(d)});
  };
  check_duration("/delay", i.delay);
  check_duration("/jitter", i.jitter);
  check_fraction(out, "/loss", i.loss);
  check_fraction(out, "/duplicate", i.duplicate);
  check_fraction(out, "/reorder", i.reorder);
  check_fraction(out, "/corrupt", i.corrupt);
  if (i.gilbert_elliott) {
    const auto& ge = *i.gilbert_elliott;
    check_fraction(out, "/loss_model/gilbert_elliott/p", ge.p);
    check_fraction(out, "/loss_model/gilbert_elliott/r", ge.r);
    check_fraction(out, "/loss_model/gilbert_elliott/h", ge.h);
    check_fraction(out, "/loss_model/gilbert_elliott/k", ge.k);
    if (i.loss > 0)
      out.push_back({"/loss",
                     "cannot be combined with loss_model: the Gilbert–Elliott model decides every loss "
                     "(netem keeps one loss model); drop \"loss\" or \"loss_model\""});
  }
  if (i.reorder > 0 && i.delay.count() <= 0)
    out.push_back({"/reorder",
                   "needs a delay: reordered packets are the ones sent at once while the rest wait for "
                   "\"delay\" (netem's rule too); set \"delay\""});
  if (std::isnan(i.rate_bps) || i.rate_bps < 0)
    out.push_back({"/rate", "must be a positive rate like \"10Mbit\"; got " + format_number(i.rate_bps) + " bit/s"});
  else if (i.rate_bps > 0 && i.rate_bps < kMinRate)
    out.push_back(
        {"/rate", "must be at least 1kbit (one full-size frame every 12 s); got " + format_bit_rate(i.rate_bps)});
  else if (i.rate_bps > kMaxRate)
    out.push_back({"/rate", "must be at most 100Gbit; got " + format_bit_rate(i.rate_bps)});
  if (i.mtu != 0 && (i.mtu < kMinMtu || i.mtu > kMaxMtu))
    out.push_back({"/mtu", "must be between 68 and 65535 bytes; got " + std::to_string(i.mtu)});
  if (i.queue_bytes > 0) {
    uint64_t frame = static_cast<uint64_t>(i.effective_mtu() + kEthernetHeader);
    if (i.rate_bps == 0)
      out.push_back({"/queue", "is the rate limiter's queue: it needs a \"rate\" (without one nothing ever waits)"});
    else if (i.queue_bytes < frame)
      out.push_back({"/queue", "must hold at least one full-size frame (mtu + 14 = " + std::to_string(frame) +
                                   " bytes); got " + std::to_string(i.queue_bytes) + " bytes"});
    else if (i.queue_bytes > kMaxQueue)
      out.push_back({"/queue", "must be at most 1GiB; got " + std::to_string(i.queue_bytes) + " bytes"});
  }
  return out;
}

namespace {

std::optional<Nanos> duration_field(const json& v, const std::string& pointer, std::vector<ImpairmentProblem>& out) {
  if (v.is_number()) {
    std::string n = v.dump();
    out.push_back({pointer, "expected a duration string with a unit, like \"" + n + "ms\"; got the bare number " + n});
    return std::nullopt;
  }
  if (!v.is_string()) {
    out.push_back({pointer, "expected a duration string like \"25ms\"; got " + v.dump()});
    return std::nullopt;
  }
  std::string why;
  auto d = parse_duration(v.get<std::string>(), &why);
  if (!d) out.push_back({pointer, why});
  return d;
}

std::optional<double> fraction_field(const json& v, const std::string& pointer, std::vector<ImpairmentProblem>& out) {
  if (!v.is_number()) {
    std::string hint;
    if (v.is_string() && !v.get<std::string>().empty() && v.get<std::string>().back() == '%')
      hint = " (a fraction, not a percent string: \"1%\" is 0.01)";
    out.push_back({pointer, "expected a number between 0 and 1; got " + v.dump() + hint});
    return std::nullopt;
  }
  return v.get<double>();
}

}  // namespace

std::optional<Impairment> impairment_from_json(const json& j, std::vector<ImpairmentProblem>* problems) {
  std::vector<ImpairmentProblem> out;
  Impairment imp;
  if (!j.is_object()) {
    out.push_back({"", "expected an object of link impairments (delay, jitter, loss, rate, ...); got " + j.dump()});
  } else {
    for (const auto& [key, v] : j.items()) {
      const std::string ptr = "/" + key;
      if (key == "delay") {
        if (auto d = duration_field(v, ptr, out)) imp.delay = *d;
      } else if (key == "jitter") {
        if (auto d = duration_field(v, ptr, out)) imp.jitter = *d;
      } else if (key == "distribution") {
        auto d = v.is_string() ? parse_distribution(v.get<std::string>()) : std::nullopt;
        if (!d)
          out.push_back(
              {ptr, "expected one of \"normal\", \"uniform\", \"pareto\", \"paretonormal\"; got " + v.dump()});
        else
          imp.distribution = *d;
      } else if (key == "loss" || key == "duplicate" || key == "reorder" || key == "corrupt") {
        auto f = fraction_field(v, ptr, out);
        if (!f) continue;
        double& dst = key == "loss"        ? imp.loss
                      : key == "duplicate" ? imp.duplicate
                      : key == "reorder"   ? imp.reorder
                                           : imp.corrupt;
        dst = *f;
      } else if (key == "loss_model") {
        if (!v.is_object() || v.size() != 1 || !v.contains("gilbert_elliott")) {
          out.push_back({ptr, "expected {\"gilbert_elliott\": {\"p\": ..., \"r\": ..., \"h\": ..., \"k\": ...}}; got " +
                                  v.dump()});
          continue;
        }
        const json& g = v["gilbert_elliott"];
        const std::string gp = ptr + "/gilbert_elliott";
        if (!g.is_object()) {
          out.push_back({gp, "expected an object {\"p\": ..., \"r\": ..., \"h\": ..., \"k\": ...}; got " + g.dump()});
          continue;
        }
        GilbertElliott ge;
        bool have_p = false, have_r = false;
        for (const auto& [gk, gv] : g.items()) {
          if (gk != "p" && gk != "r" && gk != "h" && gk != "k") {
            out.push_back({gp + "/" + gk,
                           "unknown key; expected p (good->bad), r (bad->good), h (1 - loss in bad), "
                           "k (1 - loss in good)"});
            continue;
          }
          auto f = fraction_field(gv, gp + "/" + gk, out);
          if (!f) continue;
          (gk == "p" ? ge.p : gk == "r" ? ge.r : gk == "h" ? ge.h : ge.k) = *f;
          have_p |= gk == "p";
          have_r |= gk == "r";
        }
        if (!have_p) out.push_back({gp + "/p", "is required: the probability of going from the good to the bad state"});
        if (!have_r) ge.r = 1 - ge.p;  // tc-netem(8): r defaults to 1 - p
        imp.gilbert_elliott = ge;
      } else if (key == "rate") {
        if (!v.is_string()) {
          out.push_back({ptr, "expected a rate string with a unit, like \"10Mbit\"; got " + v.dump()});
          continue;
        }
        std::string why;
        auto r = parse_bit_rate(v.get<std::string>(), &why);
        if (!r)
          out.push_back({ptr, why});
        else if (*r == 0)
          out.push_back({ptr, "must be more than 0 (leave \"rate\" out for an unlimited link)"});
        else
          imp.rate_bps = *r;
      } else if (key == "queue") {
        if (v.is_number_unsigned())
          imp.queue_bytes = v.get<uint64_t>();
        else if (v.is_string()) {
          std::string why;
          auto q = parse_byte_size(v.get<std::string>(), &why);
          if (!q)
            out.push_back({ptr, why});
          else if (*q == 0)
            out.push_back({ptr, "must be more than 0 bytes"});
          else
            imp.queue_bytes = *q;
        } else {
          out.push_back({ptr, "expected a size like \"64KiB\" or a number of bytes; got " + v.dump()});
        }
      } else if (key == "mtu") {
        if (!v.is_number_integer())
          out.push_back({ptr, "expected an integer number of bytes, like 1500; got " + v.dump()});
        else if (v.get<int64_t>() < kMinMtu || v.get<int64_t>() > kMaxMtu)
          out.push_back({ptr, "must be between 68 and 65535 bytes; got " + v.dump()});
        else
          imp.mtu = v.get<int>();
      } else {
        out.push_back({ptr,
                       "unknown key; expected delay, jitter, distribution, loss, loss_model, duplicate, reorder, "
                       "corrupt, rate, queue, mtu"});
      }
    }
  }
  // Range and consistency checks on what did parse; a rule about two keys stays silent when
  // one of them already has a problem (no "reorder needs a delay" for a delay written wrong).
  auto reported = [&](const std::string& pointer) {
    for (const auto& p : out)
      if (p.pointer == pointer || p.pointer.rfind(pointer + "/", 0) == 0) return true;
    return false;
  };
  bool delay_bad = reported("/delay"), rate_bad = reported("/rate"), mtu_bad = reported("/mtu"),
       model_bad = reported("/loss_model");
  for (auto& p : validate(imp)) {
    if (reported(p.pointer)) continue;
    if (p.pointer == "/reorder" && delay_bad) continue;
    if (p.pointer == "/queue" && (rate_bad || mtu_bad)) continue;
    if (p.pointer == "/loss" && model_bad) continue;
    out.push_back(std::move(p));
  }
  if (problems) problems->insert(problems->end(), out.begin(), out.end());
  if (!out.empty()) return std::nullopt;
  return imp;
}

json to_json(const Impairment& i) {
  json j = json::object();
  if (i.delay.count()) j["delay"] = format_duration(i.delay);
  if (i.jitter.count()) {
    j["jitter"] = format_duration(i.jitter);
    j["distribution"] = to_string(i.distribution);
  }
  if (i.loss) j["loss"] = i.loss;
  if (i.gilbert_elliott) {
    const auto& g = *i.gilbert_elliott;
    j["loss_model"] = {{"gilbert_elliott", {{"p", g.p}, {"r", g.r}, {"h", g.h}, {"k", g.k}}}};
  }
  if (i.duplicate) j["duplicate"] = i.duplicate;
  if (i.reorder) j["reorder"] = i.reorder;
  if (i.corrupt) j["corrupt"] = i.corrupt;
  if (i.rate_bps) j["rate"] = format_bit_rate(i.rate_bps);
  if (i.queue_bytes) j["queue"] = i.queue_bytes;
  if (i.mtu) j["mtu"] = i.mtu;
  return j;
}

std::optional<double> parse_bit_rate(const std::string& text, std::string* why) {
  auto fail = [&](std::string msg) -> std::optional<double> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  const std::string example = "like \"10Mbit\", \"1.5Gbit\", \"64kbit\"";
  double value = 0;
  std::string unit;
  if (!split_decimal(text, &value, &unit))
    return fail("expected a rate: a number and a unit (bit, kbit, Mbit, Gbit) " + example + "; got \"" + text + "\"");
  if (unit.empty())
    return fail("expected a rate with a unit " + example + "; got \"" + text + "\" — write \"" + text + "Mbit\" or \"" +
                text + "kbit\"");
  std::string u = lower(unit);
  if (u.size() > 2 && u.compare(u.size() - 2, 2, "/s") == 0) u.resize(u.size() - 2);
  if (u.size() >= 3 && u.compare(u.size() - 3, 3, "bps") == 0)
    return fail("\"" + text + "\" is ambiguous (tc reads \"bps\" as bytes per second): write the rate in bits, " +
                example);
  double scale = 0;
  if (u == "bit")
    scale = 1;
  else if (u == "kbit")
    scale = 1e3;
  else if (u == "mbit")
    scale = 1e6;
  else if (u == "gbit")
    scale = 1e9;
  else if (u == "tbit")
    scale = 1e12;
  else
    return fail("expected a rate unit bit, kbit, Mbit, Gbit or Tbit after the number; got \"" + text + "\"");
  return value * scale;
}

std::string format_bit_rate(double bps) {
  struct U {
    const char* name;
    double scale;
  };
  for (U u : {U{"Gbit", 1e9}, U{"Mbit", 1e6}, U{"kbit", 1e3}}) {
    if (bps >= u.scale) return format_number(std::round(bps / u.scale * 1e6) / 1e6) + u.name;
  }
  return format_number(bps) + "bit";
}

std::optional<uint64_t> parse_byte_size(const std::string& text, std::string* why) {
  auto fail = [&](std::string msg) -> std::optional<uint64_t> {
    if (why) *why = std::move(msg);
    return std::nullopt;
  };
  const std::string example = "like \"64KiB\", \"1MiB\", \"1500B\"";
  double value = 0;
  std::string unit;
  if (!split_decimal(text, &value, &unit))
    return fail("expected a size: a number and a unit (B, KiB, MiB, kB, MB) " + example + "; got \"" + text + "\"");
  if (unit.empty())
    return fail("expected a size with a unit " + example + "; got \"" + text + "\" — write \"" + text + "B\" or \"" +
                text + "KiB\"");
  double scale = 0;
  if (unit == "B")
    scale = 1;
  else if (unit == "KiB" || unit == "kiB")
    scale = 1024;
  else if (unit == "MiB")
    scale = 1024.0 * 1024;
  else if (unit == "GiB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "kB" || unit == "KB")
    scale = 1e3;
  else if (unit == "MB")
    scale = 1e6;
  else if (unit == "GB")
    scale = 1e9;
  else
    return fail("expected a size unit B, KiB, MiB, GiB, kB, MB or GB after the number; got \"" + text + "\"");
  double bytes = value * scale;
  if (bytes > 1e15) return fail("size too large: \"" + text + "\"");
  return static_cast<uint64_t>(std::llround(bytes));
}

}  // namespace sockchaos::linkemu
