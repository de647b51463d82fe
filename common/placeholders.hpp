// Placeholders in user commands and config templates: `{name}` or `{name:arg}`, with name
// [a-z][a-z0-9_]* and arg [A-Za-z0-9._-]+. Anything else in braces is literal text (nginx's
// `http {`, a regex's `{3}`, awk's `{print $1}`), so a config needs no escaping; `{{` before a
// placeholder-shaped word writes a literal `{` (`{{port}` -> `{port}`).
//
// This file only finds and substitutes; which names exist and what they mean is decided by
// the scenario model (validation) and the world (values).
#pragma once
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.hpp"

namespace sockchaos {

struct PlaceholderRef {
  std::string name;    // "addr"
  std::string arg;     // "server" ("" when the placeholder has none)
  bool has_arg = false;
  size_t offset = 0;   // of the '{' in the text
  size_t length = 0;   // through the '}'
  int line = 1;        // 1-based line of the '{'
  std::string text() const { return has_arg ? "{" + name + ":" + arg + "}" : "{" + name + "}"; }
};

// Every placeholder in `text`, in order (escaped ones left out).
std::vector<PlaceholderRef> find_placeholders(std::string_view text);

// The value of a placeholder, or nullopt with `why` set.
using PlaceholderResolver = std::function<std::optional<std::string>(const PlaceholderRef&, std::string& why)>;

// `text` with every placeholder replaced and every `{{` escape undone. The first placeholder the
// resolver refuses is an Error "line N: {x}: why".
Result<std::string> substitute_placeholders(std::string_view text, const PlaceholderResolver& resolve);

}  // namespace sockchaos
