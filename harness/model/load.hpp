// The scenario model: what a scenario file says, validated and typed.
//
// Flow: file text (JSON with // and /* */ comments) -> nlohmann::json + a map of JSON Pointer
// -> line -> strict validation into Scenario -> matrix expansion into Cells (each cell is the
// base document with the matrix values set, re-validated, so every cell is a full Scenario).
//
// Every input problem becomes an InputIssue naming the file, the JSON Pointer of the
// offending value, its line when known, and what was expected. load_* functions collect all
// issues they can find and throw ScenarioError carrying them (exit code 2 in the CLI).
#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "harness/model/issues.hpp"
#include "harness/model/types.hpp"

namespace sockchaos::harness {

// ---- loading -----------------------------------------------------------------------------

// What a scenario file may be; beyond these it is refused with an issue (never a crash, never
// unbounded memory or time). Real scenarios are a few KiB, nest 5 levels, pointers < 100 bytes.
inline constexpr size_t kMaxDocumentBytes = size_t(1) << 20;  // 1 MiB
inline constexpr int kMaxNestingDepth = 64;                   // objects and lists inside each other
inline constexpr size_t kMaxPointerBytes = 512;               // the JSON Pointer of any value
inline constexpr size_t kMaxCells = 10000;                    // cells of one matrix

// Parses JSON with comments (UTF-8; a leading byte order mark is ignored; duplicate keys are
// refused); tracks the line of every value by JSON Pointer. Syntax errors carry the line and
// the pointer of the value being read.
struct Document {
  std::string file;
  json value;
  std::map<std::string, int> lines;  // pointer -> 1-based line
};
// The size a document may have and what it is called in messages ("a scenario").
struct DocumentLimits {
  size_t max_bytes = kMaxDocumentBytes;
  const char* what = "a scenario";
};
// throws ScenarioError
Document parse_document(const std::string& text, const std::string& file, const DocumentLimits& limits = {});
// read (at most limits.max_bytes + 1 bytes) + parse_document
Document load_document_file(const std::string& path, const DocumentLimits& limits = {});

// Strict validation of a whole document (unknown keys, types, ranges, cross references,
// matrix pointers and values, expect/where). Returns every issue found; empty = valid.
std::vector<InputIssue> validate_document(const Document& doc);

// Load = parse + validate; throws ScenarioError with all issues.
Scenario load_scenario(const Document& doc);
Scenario load_scenario_file(const std::string& path);
Scenario load_scenario_json(const json& value, const std::string& label = "<dict>");
// JSON text of an in-memory value (Python's json.dumps of a dict): parsed and checked like a
// file, but its issues carry no lines (the text is not the user's).
Scenario load_scenario_text(const std::string& text, const std::string& label = "<dict>");

// Cells: cartesian product of matrix axes in matrix order; a scenario with no matrix has
// one cell with an empty id. Throws ScenarioError when a cell's document is invalid or an
// expectation's `where` matches no cell.
std::vector<Cell> expand_cells(const Scenario& scenario);

// True when every `where` pointer of the expectation equals the cell's param (durations compare
// by value: "2s" matches "2000ms"). An empty where applies to every cell.
bool expectation_applies(const Expectation& expectation, const Cell& cell);

// "2s" for a string, "off", {"idle":"1s",...} printed compactly for objects: used in ids.
std::string format_param_value(const json& v);

// Parsing of the pieces (used by the agent, which receives the client/server subtrees).
SocketOptions parse_socket_options(const json& v, const std::string& pointer,
                                   std::vector<InputIssue>& issues, const std::string& file);
ClientSpec parse_client(const json& v, std::vector<InputIssue>& issues, const std::string& file);
ServerSpec parse_server(const json& v, std::vector<InputIssue>& issues, const std::string& file,
                        const std::string& pointer = "/server");

// Files: a path that is a folder yields its *.json files and its subfolders' (not schema.json), sorted.
std::vector<std::string> collect_scenario_files(const std::vector<std::string>& paths);

// Every scenario of every file of `paths`, each loaded and its cells expanded (matrix values and
// expect/where are input too), and every issue of every file: what `sockchaos validate` and
// `run`, and Python's sockchaos.validate/run, read.
struct LoadedScenarios {
  std::vector<Scenario> scenarios;
  std::vector<InputIssue> issues;
};
LoadedScenarios load_scenario_paths(const std::vector<std::string>& paths);

}  // namespace sockchaos::harness
