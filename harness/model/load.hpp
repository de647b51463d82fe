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

// Parses JSON with comments; tracks the line of every value by JSON Pointer.
struct Document {
  std::string file;
  json value;
  std::map<std::string, int> lines;  // pointer -> 1-based line
};
Document parse_document(const std::string& text, const std::string& file);  // throws ScenarioError
Document load_document_file(const std::string& path);                       // read + parse_document

// Strict validation of a whole document (unknown keys, types, ranges, cross references,
// matrix pointers and values, expect/where). Returns every issue found; empty = valid.
std::vector<InputIssue> validate_document(const Document& doc);

// Load = parse + validate; throws ScenarioError with all issues.
Scenario load_scenario(const Document& doc);
Scenario load_scenario_file(const std::string& path);
Scenario load_scenario_json(const json& value, const std::string& label = "<dict>");

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
