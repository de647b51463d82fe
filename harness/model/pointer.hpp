// Helpers shared by the scenario model's .cpp files (JSON Pointer handling, issue lines).
// Not part of the public scenario API.
#pragma once
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harness/model/load.hpp"

namespace sockchaos::harness {

// RFC 6901: "~" -> "~0", "/" -> "~1".
std::string escape_pointer_token(const std::string& token);
// The pointer of a member / an element of the value at `pointer`.
inline std::string child(const std::string& pointer, const std::string& key) {
  return pointer + "/" + escape_pointer_token(key);
}
inline std::string child(const std::string& pointer, size_t index) { return pointer + "/" + std::to_string(index); }
// "/a/b~1c" -> {"a", "b/c"}; "" -> {}; nullopt when not a valid pointer.
std::optional<std::vector<std::string>> split_pointer(const std::string& pointer);
// The first `count` tokens joined back into a pointer.
std::string join_pointer(const std::vector<std::string>& tokens, size_t count = size_t(-1));
// Line of the value at `pointer`, or of its nearest ancestor that has one; 0 if none.
int line_of(const std::map<std::string, int>& lines, std::string pointer);

// Length (1-4) of the well-formed UTF-8 character starting at text[pos] (RFC 3629: no overlong
// forms, no surrogates, at most U+10FFFF), or 0 when the bytes there are not one.
size_t utf8_sequence_length(const std::string& text, size_t pos);

// The issue for a file over its limit (size unknown when read from a stream).
InputIssue too_large_issue(const std::string& file, std::optional<size_t> size, const DocumentLimits& limits = {});

// "the number 3", "the string \"x\"", "a list", "an object", "true", "null".
std::string describe_json(const json& v);
// JSON text of a value, for messages: "\"2s\"", "3", "{...}" (shortened when long).
std::string quote_json(const json& v);

// Validates one document's value (no matrix expansion); issues get file but no lines yet.
// When `scenario` is non-null it is filled with the typed model as far as it is valid.
void validate_scenario_value(const json& value, const std::string& file, std::vector<InputIssue>& issues,
                             Scenario* scenario);

// Sets `value` at `pointer` inside `doc`, creating missing parent objects.
// Returns an empty string on success, else why it cannot be set.
std::string set_at_pointer(json& doc, const std::string& pointer, const json& value);

// ---- commands (harness/model/commands.cpp) ----
// {dir} of a scenario file: its absolute folder; the current directory for in-memory labels
// ("<dict>", "<lab.server>": a label in angle brackets).
std::string scenario_dir_of(const std::string& file);
// "files": {"nginx.conf": "{dir}/nginx.conf.in"} -> pairs (name in {tmp}, template path as written).
std::vector<std::pair<std::string, std::string>> parse_command_files(const json& v, const std::string& pointer,
                                                                     const std::string& file,
                                                                     std::vector<InputIssue>& issues);
// "requires": {"nginx": "nginx-light"} -> pairs (program, Debian package).
std::vector<std::pair<std::string, std::string>> parse_required_programs(const json& v, const std::string& pointer,
                                                                         const std::string& file,
                                                                         std::vector<InputIssue>& issues);
// match.tcp_flags as {"mask": ["syn", "ack", ...], "value": ["ack"]}.
std::optional<TcpFlagMatch> parse_tcp_flag_match(const json& v, const std::string& pointer, const std::string& file,
                                                 std::vector<InputIssue>& issues);
// The commands of every role of a parsed scenario: their placeholders (known names, declared
// hosts), their program (on PATH or listed in "requires"), their templates (readable, and
// their own placeholders, reported at the template's file and line).
void validate_commands(const json& value, const Scenario& s, const std::vector<std::string>& hosts,
                       std::vector<InputIssue>& issues);

// Every issue message for an unknown key starts with this text.
inline constexpr const char* kUnknownKeyPrefix = "unknown key \"";

}  // namespace sockchaos::harness
