#include "common/placeholders.hpp"

namespace sockchaos {
namespace {

bool name_start(char c) { return c >= 'a' && c <= 'z'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9') || c == '_'; }
bool arg_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

// A placeholder starting at text[i] == '{': its length through '}', 0 when it is not one.
size_t match_at(std::string_view text, size_t i, PlaceholderRef* out) {
  size_t j = i + 1;
  if (j >= text.size() || !name_start(text[j])) return 0;
  while (j < text.size() && name_char(text[j])) ++j;
  const size_t name_end = j;
  size_t arg_start = 0, arg_end = 0;
  if (j < text.size() && text[j] == ':') {
    arg_start = ++j;
    while (j < text.size() && arg_char(text[j])) ++j;
    arg_end = j;
    if (arg_end == arg_start) return 0;
  }
  if (j >= text.size() || text[j] != '}') return 0;
  if (out) {
    out->name = std::string(text.substr(i + 1, name_end - i - 1));
    out->has_arg = arg_start != 0;
    out->arg = out->has_arg ? std::string(text.substr(arg_start, arg_end - arg_start)) : "";
    out->offset = i;
    out->length = j + 1 - i;
  }
  return j + 1 - i;
}

// Walks the text once: `on_literal` gets literal runs, `on_placeholder` each placeholder.
template <class Literal, class Placeholder>
void walk(std::string_view text, Literal on_literal, Placeholder on_placeholder) {
  int line = 1;
  size_t run = 0;
  for (size_t i = 0; i < text.size();) {
    if (text[i] == '\n') {
      ++line;
      ++i;
      continue;
    }
    if (text[i] != '{') {
      ++i;
      continue;
    }
    if (i + 1 < text.size() && text[i + 1] == '{' && match_at(text, i + 1, nullptr) > 0) {
      // "{{name}" -> a literal "{name}"
      on_literal(text.substr(run, i - run));
      run = i + 1;
      i += 1 + match_at(text, i + 1, nullptr);
      continue;
    }
    PlaceholderRef ref;
    if (const size_t n = match_at(text, i, &ref); n > 0) {
      ref.line = line;
      on_literal(text.substr(run, i - run));
      if (!on_placeholder(ref)) return;
      i += n;
      run = i;
      continue;
    }
    ++i;
  }
  on_literal(text.substr(run));
}

}  // namespace

std::vector<PlaceholderRef> find_placeholders(std::string_view text) {
  std::vector<PlaceholderRef> out;
  walk(
      text, [](std::string_view) {},
      [&](const PlaceholderRef& ref) {
        out.push_back(ref);
        return true;
      });
  return out;
}

Result<std::string> substitute_placeholders(std::string_view text, const PlaceholderResolver& resolve) {
  std::string out;
  out.reserve(text.size());
  std::optional<Error> failure;
  walk(
      text, [&](std::string_view literal) { out.append(literal); },
      [&](const PlaceholderRef& ref) {
        std::string why;
        auto value = resolve(ref, why);
        if (!value) {
          failure = Error::plain("line " + std::to_string(ref.line) + ": " + ref.text() + ": " + why);
          return false;
        }
        out += *value;
        return true;
      });
  if (failure) return *failure;
  return out;
}

}  // namespace sockchaos
