// Durations ("250ms", "1.5s", "2m") and byte rates ("100KiB/s").
#include <cmath>
#include <cstdint>
#include <string>

#include "common/duration.hpp"

namespace sockchaos {
namespace {

struct Unit {
  const char* name;
  int64_t ns;
};
// Largest first: format_duration prefers the largest unit that prints exactly.
constexpr Unit kDurationUnits[] = {
    {"h", 3600LL * 1000000000LL}, {"m", 60LL * 1000000000LL}, {"s", 1000000000LL}, {"ms", 1000000LL}, {"us", 1000LL}};

void set_why(std::string* why, std::string text) {
  if (why) *why = std::move(text);
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// Splits "1.5KiB" into integer digits, fraction digits and the rest. False when no digits lead.
bool split_number(const std::string& text, std::string& whole, std::string& fraction, std::string& rest) {
  size_t i = 0;
  while (i < text.size() && is_digit(text[i])) whole += text[i++];
  if (i < text.size() && text[i] == '.') {
    ++i;
    while (i < text.size() && is_digit(text[i])) fraction += text[i++];
    if (fraction.empty()) return false;
  }
  rest = text.substr(i);
  return !whole.empty();
}

}  // namespace

std::optional<Nanos> parse_duration(const std::string& text, std::string* why) {
  const std::string example = "like \"250ms\", \"3s\", \"1.5s\", \"2m\"";
  if (text.empty()) {
    set_why(why, "expected a duration " + example + "; got an empty string");
    return std::nullopt;
  }
  if (text[0] == '-') {
    set_why(why, "expected a duration of zero or more " + example + "; got \"" + text + "\" (negative)");
    return std::nullopt;
  }
  if (text.find(' ') != std::string::npos) {
    std::string squeezed;
    for (char c : text)
      if (c != ' ') squeezed += c;
    set_why(why, "expected a duration without spaces " + example + "; got \"" + text + "\" — write \"" + squeezed + "\"");
    return std::nullopt;
  }
  std::string whole, fraction, unit;
  if (!split_number(text, whole, fraction, unit)) {
    set_why(why, "expected a duration: a number and a unit (us, ms, s, m, h) " + example + "; got \"" + text + "\"");
    return std::nullopt;
  }
  if (unit.empty()) {
    set_why(why, "expected a duration with a unit (us, ms, s, m, h) " + example + "; got \"" + text + "\" — write \"" +
                     text + "s\" or \"" + text + "ms\"");
    return std::nullopt;
  }
  const Unit* found = nullptr;
  for (const auto& u : kDurationUnits)
    if (unit == u.name) found = &u;
  if (!found) {
    set_why(why, "expected a duration unit us, ms, s, m or h after the number; got \"" + text + "\"");
    return std::nullopt;
  }
  if (whole.size() > 15) {
    set_why(why, "expected a duration shorter than 100 days; got \"" + text + "\"");
    return std::nullopt;
  }
  __int128 total = static_cast<__int128>(std::stoll(whole)) * found->ns;
  __int128 scale = 1;
  __int128 frac_value = 0;
  for (char c : fraction) {
    frac_value = frac_value * 10 + (c - '0');
    scale *= 10;
    if (scale > static_cast<__int128>(1000000000000000000LL)) break;
  }
  __int128 frac_ns = frac_value * found->ns;
  if (frac_ns % scale != 0) {
    set_why(why, "expected a duration that is a whole number of nanoseconds; got \"" + text + "\"");
    return std::nullopt;
  }
  total += frac_ns / scale;
  if (total > static_cast<__int128>(100LL * 24 * 3600 * 1000000000LL)) {
    set_why(why, "expected a duration shorter than 100 days; got \"" + text + "\"");
    return std::nullopt;
  }
  return Nanos(static_cast<int64_t>(total));
}

std::string format_duration(Nanos d) {
  int64_t ns = d.count();
  if (ns == 0) return "0s";
  if (ns < 0) return "-" + format_duration(Nanos(-ns));
  std::string best;
  bool best_has_point = true;
  bool best_whole_nonzero = false;
  for (const auto& u : kDurationUnits) {
    int64_t whole = ns / u.ns;
    int64_t rem = ns % u.ns;
    std::string digits;
    for (int i = 0; i < 15 && rem != 0; ++i) {
      __int128 r = static_cast<__int128>(rem) * 10;
      digits += static_cast<char>('0' + static_cast<int>(r / u.ns));
      rem = static_cast<int64_t>(r % u.ns);
    }
    if (rem != 0) continue;  // not exact in this unit (e.g. 1s in minutes)
    std::string candidate = std::to_string(whole) + (digits.empty() ? "" : "." + digits) + u.name;
    bool has_point = !digits.empty();
    bool whole_nonzero = whole != 0;
    // Prefer: a non-zero whole part ("250ms" over "0.25s"), then the shortest, then no point.
    bool better = best.empty() || (whole_nonzero && !best_whole_nonzero) ||
                  (whole_nonzero == best_whole_nonzero &&
                   (candidate.size() < best.size() || (candidate.size() == best.size() && !has_point && best_has_point)));
    if (better) {
      best = candidate;
      best_has_point = has_point;
      best_whole_nonzero = whole_nonzero;
    }
  }
  return best;
}

namespace {
const std::pair<const char*, double> kByteUnits[] = {{"B", 1.0},         {"kB", 1e3},   {"KB", 1e3},
                                                     {"KiB", 1024.0},    {"MB", 1e6},   {"MiB", 1048576.0},
                                                     {"GB", 1e9},        {"GiB", 1073741824.0}};
double byte_unit(const std::string& unit) {
  for (const auto& [name, f] : kByteUnits)
    if (unit == name) return f;
  return 0;
}
}  // namespace

std::optional<int64_t> parse_byte_size(const std::string& text, std::string* why) {
  const std::string example = "like \"64KiB\", \"4MiB\" or \"1500B\"";
  std::string whole, fraction, unit;
  if (!split_number(text, whole, fraction, unit) || unit.empty()) {
    set_why(why, "expected a size: a number and a unit (B, kB, KiB, MB, MiB, GB, GiB) " + example + "; got \"" + text + "\"");
    return std::nullopt;
  }
  const double factor = byte_unit(unit);
  if (factor == 0) {
    set_why(why, "expected a byte unit B, kB, KB, KiB, MB, MiB, GB or GiB " + example + "; got \"" + text + "\"");
    return std::nullopt;
  }
  if (whole.size() > 12) {
    set_why(why, "expected a size below 1 TB; got \"" + text + "\"");
    return std::nullopt;
  }
  const double value = std::stod(whole + (fraction.empty() ? "" : "." + fraction)) * factor;
  if (value != std::floor(value)) {
    set_why(why, "expected a whole number of bytes; got \"" + text + "\"");
    return std::nullopt;
  }
  return static_cast<int64_t>(value);
}

std::optional<double> parse_byte_rate(const std::string& text, std::string* why) {
  const std::string example = "like \"100KiB/s\", \"1MiB/s\" or \"500B/s\"";
  if (text.size() < 2 || text.compare(text.size() - 2, 2, "/s") != 0) {
    set_why(why, "expected a byte rate ending in \"/s\" " + example + "; got \"" + text + "\"");
    return std::nullopt;
  }
  std::string body = text.substr(0, text.size() - 2);
  std::string whole, fraction, unit;
  if (!split_number(body, whole, fraction, unit)) {
    set_why(why, "expected a byte rate: a number, a unit and \"/s\" " + example + "; got \"" + text + "\"");
    return std::nullopt;
  }
  const double factor = byte_unit(unit);
  if (factor == 0) {
    set_why(why, "expected a byte unit B, kB, KB, KiB, MB, MiB, GB or GiB before \"/s\" " + example + "; got \"" +
                     text + "\"");
    return std::nullopt;
  }
  double value = std::stod(whole + (fraction.empty() ? "" : "." + fraction)) * factor;
  if (!(value > 0) || !std::isfinite(value)) {
    set_why(why, "expected a byte rate above zero " + example + "; got \"" + text + "\"");
    return std::nullopt;
  }
  return value;
}

}  // namespace sockchaos
