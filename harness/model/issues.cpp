#include "harness/model/issues.hpp"

#include <string_view>

namespace sockchaos::harness {
namespace {

std::string compose_what(const std::vector<InputIssue>& issues) {
  std::string out;
  for (size_t i = 0; i < issues.size(); ++i) out += (i ? "\n" : "") + issues[i].str();
  if (out.empty()) out = "invalid scenario";
  return out;
}

// Control characters from the user's text (a key "a\nb") are escaped: one issue, one line.
std::string one_line(const std::string& text) {
  // Most text has no control character at all: one scan, one copy.
  size_t plain = 0;
  while (plain < text.size()) {
    unsigned char u = static_cast<unsigned char>(text[plain]);
    if (u < 0x20 || u == 0x7F) break;
    ++plain;
  }
  if (plain == text.size()) return text;
  std::string out(text, 0, plain);
  for (char c : std::string_view(text).substr(plain)) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7F) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xF];
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::string InputIssue::str() const {
  std::string out = file.empty() ? "<input>" : one_line(file);
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!pointer.empty()) out += one_line(pointer) + ": ";
  return out + one_line(message);
}

ScenarioError::ScenarioError(std::vector<InputIssue> issues)
    : std::runtime_error(compose_what(issues)), issues_(std::move(issues)) {}

}  // namespace sockchaos::harness
