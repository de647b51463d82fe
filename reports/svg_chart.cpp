#include "reports/svg_chart.hpp"

#include <algorithm>
#include <cmath>
#include <cctype>
#include <cstdio>

namespace sockchaos::reports::svg {

namespace {

double transform(ScaleKind kind, double value, double lo) {
  switch (kind) {
    case ScaleKind::linear: return value;
    case ScaleKind::symlog: return std::log10(1 + std::max(value, 0.0));
    case ScaleKind::log: return std::log10(std::max(value, lo > 0 ? lo : 1e-9));
  }
  return value;
}

double nice_step(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1;
  double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double residual = raw / magnitude;
  double nice = residual <= 1 ? 1 : residual <= 2 ? 2 : residual <= 5 ? 5 : 10;
  return nice * magnitude;
}

}  // namespace

double Scale::fraction(double value) const {
  double a = transform(kind, lo, lo), b = transform(kind, hi, lo);
  if (!(b > a)) return 0.5;
  return std::clamp((transform(kind, value, lo) - a) / (b - a), 0.0, 1.0);
}

double Scale::operator()(double value) const { return px_lo + fraction(value) * (px_hi - px_lo); }

std::vector<double> ticks(const Scale& scale, int target) {
  std::vector<double> out;
  if (!(scale.hi > scale.lo)) {
    out.push_back(scale.lo);
    return out;
  }
  if (scale.kind == ScaleKind::log || (scale.kind == ScaleKind::symlog && scale.hi >= 10)) {
    double start = scale.kind == ScaleKind::symlog ? 1 : scale.lo;
    if (scale.kind == ScaleKind::symlog) out.push_back(0);
    double power = std::pow(10, std::floor(std::log10(start)));
    std::vector<double> decades;
    for (double p = power; p <= scale.hi * 1.0001; p *= 10) {
      if (p >= start * 0.9999) decades.push_back(p);
    }
    if (decades.size() >= 2) {
      out.insert(out.end(), decades.begin(), decades.end());
      return out;
    }
    // Less than two decades: 1-2-5 multiples.
    for (double p = power; p <= scale.hi * 1.0001; p *= 10) {
      for (double m : {1.0, 2.0, 5.0}) {
        double v = p * m;
        if (v >= start * 0.9999 && v <= scale.hi * 1.0001) out.push_back(v);
      }
    }
    if (out.size() < 2) {
      out = {scale.lo, scale.hi};
    }
    return out;
  }
  double step = nice_step((scale.hi - scale.lo) / std::max(target, 1));
  for (double v = std::ceil(scale.lo / step - 1e-9) * step; v <= scale.hi + step * 1e-6;
       v += step) {
    out.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

double nice_ceiling(double value) {
  if (!(value > 0)) return 1;
  double step = nice_step(value / 5);
  return std::ceil(value / step - 1e-9) * step;
}

std::string coordinate(double px) {
  char buffer[32];
  double rounded = std::round(px * 10) / 10;
  if (rounded == std::floor(rounded)) {
    std::snprintf(buffer, sizeof buffer, "%.0f", rounded);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f", rounded);
  }
  return buffer;
}

std::string whole(double px) { return std::to_string(std::lround(px)); }

namespace {

// Appends `value` to path data, with a separator only where the parser needs one.
void append_number(std::string& d, long value) {
  if (value >= 0 && !d.empty() && std::isdigit(static_cast<unsigned char>(d.back()))) d += ' ';
  d += std::to_string(value);
}

}  // namespace

std::string step_path(const std::vector<double>& xs, const std::vector<double>& ys) {
  std::string d;
  size_t n = std::min(xs.size(), ys.size());
  if (n == 0) return d;
  // Relative moves between whole-pixel positions: no drift, a few bytes per change.
  long last_x = std::lround(xs[0]), last_y = std::lround(ys[0]);
  d = "M" + std::to_string(last_x) + " " + std::to_string(last_y);
  for (size_t i = 1; i < n; ++i) {
    long y = std::lround(ys[i]);
    if (y == last_y) continue;
    long x = std::lround(xs[i]);
    d += 'h';
    append_number(d, x - last_x);
    d += 'v';
    append_number(d, y - last_y);
    last_x = x;
    last_y = y;
  }
  d += "H" + std::to_string(std::lround(xs[n - 1]));
  return d;
}

std::string line_path(const std::vector<double>& xs, const std::vector<double>& ys) {
  std::string d;
  size_t n = std::min(xs.size(), ys.size());
  if (n == 0) return d;
  long last_x = std::lround(xs[0]), last_y = std::lround(ys[0]);
  d = "M" + std::to_string(last_x) + " " + std::to_string(last_y) + "l";
  bool any = false;
  for (size_t i = 1; i < n; ++i) {
    long x = std::lround(xs[i]), y = std::lround(ys[i]);
    if (x == last_x && y == last_y) continue;
    append_number(d, x - last_x);
    append_number(d, y - last_y);
    last_x = x;
    last_y = y;
    any = true;
  }
  if (!any) d += "0 0";
  return d;
}

namespace {

struct Rgb {
  double r, g, b;
};

// viridis at 0, .25, .5, .75, 1 - reversed below so that short times are light.
constexpr Rgb kViridis[] = {
    {0x44, 0x01, 0x54}, {0x3b, 0x52, 0x8b}, {0x21, 0x91, 0x8c}, {0x5e, 0xc9, 0x62},
    {0xfd, 0xe7, 0x25}};

Rgb sample(double fraction) {
  double t = 1 - std::clamp(fraction, 0.0, 1.0);
  double position = t * 4;
  int index = std::min(3, static_cast<int>(position));
  double local = position - index;
  const Rgb& a = kViridis[index];
  const Rgb& b = kViridis[index + 1];
  return {a.r + (b.r - a.r) * local, a.g + (b.g - a.g) * local, a.b + (b.b - a.b) * local};
}

}  // namespace

std::string sequential_color(double fraction) {
  Rgb c = sample(fraction);
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x", static_cast<int>(std::lround(c.r)),
                static_cast<int>(std::lround(c.g)), static_cast<int>(std::lround(c.b)));
  return buffer;
}

std::string sequential_text_color(double fraction) {
  Rgb c = sample(fraction);
  double luminance = (0.2126 * c.r + 0.7152 * c.g + 0.0722 * c.b) / 255;
  return luminance > 0.45 ? "#111" : "#fff";
}

}  // namespace sockchaos::reports::svg
