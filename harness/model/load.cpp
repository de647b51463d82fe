// Scenario loading: validate_document (every cell of the matrix), load_*, expand_cells,
// cell ids, file collection.
//
// Cell ids: "key=value" pairs joined by single spaces in matrix order; key is the axis
// pointer's last segment, value is format_param_value(value): strings bare ("2s", "off"),
// everything else compact JSON in the order written ({"idle":"1s","interval":"1s","count":3},
// 3, true, 0.5). The form is stable: --filter and merged shard reports rely on it.
//
// Matrix validation: each cell's document (base + that cell's values) is validated. An issue
// inside a matrix value is reported at the value in the matrix: /matrix/<axis>/<index>[/...];
// a matrix pointer that names no scenario key is reported at /matrix/<axis>. Issues that only
// some cells have (a combination of values) say which cell: '... (in matrix cell "id")'.
//
// A cell's document is the base document without "matrix" (a cell is one point of it), with
// that cell's values set: the matrix is validated once, not again in every cell, and the
// cells' documents, lines and models together stay within kMaxCellsBytes.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include "harness/model/load.hpp"
#include "harness/model/pointer.hpp"

namespace sockchaos::harness {
namespace {

// Memory the cells of one matrix may take (documents, line maps, models: about 3 times the
// document's weight each). A 10000-cell matrix of a shipped scenario (~20 KiB each) fits.
constexpr size_t kMaxCellsBytes = size_t(512) << 20;

// Rough bytes a json value takes in memory (nodes, strings, keys).
size_t json_weight(const json& v) {
  size_t w = sizeof(json);
  if (v.is_string()) w += v.get_ref<const std::string&>().size();
  if (v.is_object())
    for (const auto& [key, value] : v.items()) w += key.size() + sizeof(std::string) + json_weight(value);
  if (v.is_array())
    for (const auto& value : v) w += json_weight(value);
  return w;
}

size_t lines_weight(const std::map<std::string, int>& lines) {
  size_t w = 0;
  for (const auto& [pointer, line] : lines) w += pointer.size() + 64;  // key, value, tree node
  return w;
}

std::string mib(size_t bytes) { return std::to_string((bytes + (size_t(1) << 19)) >> 20) + " MiB"; }


bool starts_with_pointer(const std::string& pointer, const std::string& prefix) {
  return pointer == prefix || (pointer.size() > prefix.size() && pointer.compare(0, prefix.size(), prefix) == 0 &&
                               pointer[prefix.size()] == '/');
}

bool exists_at(const json& doc, const std::vector<std::string>& tokens, size_t count) {
  const json* cur = &doc;
  for (size_t i = 0; i < count; ++i) {
    const std::string& t = tokens[i];
    if (cur->is_object()) {
      auto it = cur->find(t);
      if (it == cur->end()) return false;
      cur = &*it;
    } else if (cur->is_array()) {
      if (t.empty() || !std::all_of(t.begin(), t.end(), ::isdigit) || t.size() > 9 || std::stoul(t) >= cur->size())
        return false;
      cur = &(*cur)[std::stoul(t)];
    } else {
      return false;
    }
  }
  return true;
}

bool param_equal(const json& a, const json& b) {
  if (a == b) return true;
  if (a.is_string() && b.is_string()) {
    auto da = parse_duration(a.get<std::string>()), db = parse_duration(b.get<std::string>());
    return da && db && *da == *db;
  }
  return false;
}

void attach_lines(std::vector<InputIssue>& issues, const std::map<std::string, int>& lines) {
  for (auto& issue : issues)
    if (issue.line == 0) issue.line = line_of(lines, issue.pointer);
}

struct AxisState {
  MatrixAxis axis;
  std::string last_segment;
  std::vector<std::string> tokens;
};

// The heart of validate_document and expand_cells: validates the base (no matrix) or every
// cell, checks expect/where against the matrix, and builds cells when asked.
void validate_and_expand(const json& value, const std::string& file, const std::map<std::string, int>& lines,
                         std::vector<InputIssue>& issues, std::vector<Cell>* cells) {
  Scenario base;
  std::vector<InputIssue> base_issues;
  validate_scenario_value(value, file, base_issues, &base);
  base.lines = lines;

  std::vector<AxisState> axes;
  for (const auto& axis : base.matrix) {
    AxisState a;
    a.axis = axis;
    a.tokens = *split_pointer(axis.pointer);
    a.last_segment = a.tokens.back();
    json probe = value;
    std::string why = set_at_pointer(probe, axis.pointer, axis.values[0]);
    if (!why.empty()) {
      issues.push_back({file, "/matrix/" + escape_pointer_token(axis.pointer), 0,
                        "the matrix pointer \"" + axis.pointer + "\" cannot be set: " + why});
      continue;
    }
    axes.push_back(std::move(a));
  }

  // expect/where: keys must be matrix pointers, values must match some cell.
  for (const auto& e : base.expect) {
    if (!e.where.is_object()) continue;
    std::vector<std::string> unmatched;
    for (const auto& item : e.where.items()) {
      const std::string& key = item.key();  // not a structured binding: clang 14 cannot capture those
      const json& wanted = item.value();
      auto it = std::find_if(base.matrix.begin(), base.matrix.end(), [&](const MatrixAxis& a) { return a.pointer == key; });
      if (it == base.matrix.end()) {
        std::string known;
        for (const auto& a : base.matrix) known += (known.empty() ? "" : ", ") + a.pointer;
        issues.push_back({file, e.pointer + "/where/" + escape_pointer_token(key), 0,
                          "expected a matrix pointer as a where key (" +
                              (known.empty() ? std::string("this scenario has no matrix") : "one of: " + known) +
                              "); got \"" + key + "\""});
        continue;
      }
      bool found = std::any_of(it->values.begin(), it->values.end(), [&](const json& v) { return param_equal(v, wanted); });
      if (!found) {
        std::string values;
        for (const auto& v : it->values) values += (values.empty() ? "" : ", ") + quote_json(v);
        unmatched.push_back(key + " is " + quote_json(wanted) + " but the matrix gives " + values);
      }
    }
    if (!unmatched.empty()) {
      std::string msg = "this where matches no cell: ";
      for (size_t i = 0; i < unmatched.size(); ++i) msg += (i ? "; " : "") + unmatched[i];
      issues.push_back({file, e.pointer + "/where", 0, msg + " (a typo?)"});
    }
  }

  if (base.matrix.empty()) {
    issues.insert(issues.end(), base_issues.begin(), base_issues.end());
    if (cells && issues.empty()) {
      Cell cell;
      cell.scenario_name = base.name;
      cell.scenario = base;
      cells->push_back(std::move(cell));
    }
    attach_lines(issues, lines);
    std::stable_sort(issues.begin(), issues.end(),
                     [](const InputIssue& a, const InputIssue& b) { return a.line < b.line; });
    return;
  }

  size_t total = 1;
  for (const auto& a : axes) {
    total *= a.axis.values.size();
    if (total > kMaxCells) {
      issues.push_back({file, "/matrix", 0,
                        "expected at most " + std::to_string(kMaxCells) + " cells; this matrix makes more"});
      attach_lines(issues, lines);
      return;
    }
  }
  json cell_base = value;
  cell_base.erase("matrix");  // value is an object: it has a matrix
  std::map<std::string, int> cell_lines;
  for (const auto& [pointer, line] : lines)
    if (!starts_with_pointer(pointer, "/matrix")) cell_lines.emplace_hint(cell_lines.end(), pointer, line);
  size_t cell_bytes = 3 * (json_weight(cell_base) + lines_weight(cell_lines)) + sizeof(Cell);
  if (cell_bytes * total > kMaxCellsBytes) {
    issues.push_back({file, "/matrix", 0,
                      "expected the cells of a matrix to take at most " + mib(kMaxCellsBytes) + "; " +
                          std::to_string(total) + " cells of about " + std::to_string(cell_bytes >> 10) +
                          " KiB each take " + mib(cell_bytes * total) +
                          " — use fewer matrix values or a smaller scenario"});
    attach_lines(issues, lines);
    return;
  }
  // Matrix-structure issues found in the base (duplicates, bad pointers) are kept as they are.
  for (const auto& issue : base_issues)
    if (starts_with_pointer(issue.pointer, "/matrix")) issues.push_back(issue);

  struct Seen {
    InputIssue issue;
    size_t count = 0;
    std::string first_cell;
    bool remapped = false;
  };
  std::vector<Seen> seen;
  std::map<std::string, size_t> index;
  std::vector<size_t> choice(axes.size(), 0);
  for (size_t n = 0; n < total; ++n) {
    json doc = cell_base;
    json params = json::object();
    std::string id;
    for (size_t a = 0; a < axes.size(); ++a) {
      const json& v = axes[a].axis.values[choice[a]];
      set_at_pointer(doc, axes[a].axis.pointer, v);
      params[axes[a].axis.pointer] = v;
      id += (a ? " " : "") + axes[a].last_segment + "=" + format_param_value(v);
    }
    std::vector<InputIssue> cell_issues;
    Scenario cs;
    validate_scenario_value(doc, file, cell_issues, cells ? &cs : nullptr);
    for (auto& issue : cell_issues) {
      if (starts_with_pointer(issue.pointer, "/matrix")) continue;  // already reported from the base
      bool remapped = false;
      bool unknown = issue.message.rfind(kUnknownKeyPrefix, 0) == 0;
      for (size_t a = 0; a < axes.size() && !remapped; ++a) {
        const std::string& target = axes[a].axis.pointer;
        std::string axis_pointer = "/matrix/" + escape_pointer_token(target);
        auto issue_tokens = split_pointer(issue.pointer);
        // The target itself is an unknown key, or a parent the matrix had to create is wrong.
        bool created_parent = issue_tokens && issue.pointer != target && starts_with_pointer(target, issue.pointer) &&
                              !exists_at(value, axes[a].tokens, issue_tokens->size()) &&
                              (unknown || issue.message.find("got an object") != std::string::npos);
        if ((unknown && issue.pointer == target) || created_parent) {
          std::string where = issue.pointer == target || unknown ? "" : issue.pointer + ": ";
          issue.pointer = axis_pointer;
          issue.message = "the matrix pointer \"" + target + "\" names no scenario setting: " + where + issue.message;
          remapped = true;
        } else if (starts_with_pointer(issue.pointer, target)) {
          issue.pointer = axis_pointer + "/" + std::to_string(choice[a]) + issue.pointer.substr(target.size());
          remapped = true;
        }
      }
      std::string key = issue.pointer + "\n" + issue.message;
      auto it = index.find(key);
      if (it == index.end()) {
        index[key] = seen.size();
        seen.push_back(Seen{issue, 1, id, remapped});
      } else {
        seen[it->second].count++;
      }
    }
    if (cells && cell_issues.empty()) {
      cs.lines = cell_lines;
      Cell cell;
      cell.scenario_name = cs.name;
      cell.id = id;
      cell.params = params;
      std::vector<Expectation> applicable;
      cell.scenario = std::move(cs);
      for (const auto& e : cell.scenario.expect)
        if (expectation_applies(e, cell)) applicable.push_back(e);
      cell.scenario.expect = std::move(applicable);
      cells->push_back(std::move(cell));
    }
    // Next combination: the last axis varies fastest.
    for (size_t a = axes.size(); a-- > 0;) {
      if (++choice[a] < axes[a].axis.values.size()) break;
      choice[a] = 0;
    }
  }
  for (auto& s : seen) {
    if (!s.remapped && s.count < total) s.issue.message += " (in matrix cell \"" + s.first_cell + "\")";
    issues.push_back(std::move(s.issue));
  }
  attach_lines(issues, lines);
  // The same issue can come from the base and from the cells: keep the first.
  std::set<std::string> unique;
  std::vector<InputIssue> out;
  for (auto& issue : issues)
    if (unique.insert(issue.pointer + "\n" + issue.message).second) out.push_back(std::move(issue));
  // Reading order: whole-document issues first, then by line.
  std::stable_sort(out.begin(), out.end(), [](const InputIssue& a, const InputIssue& b) { return a.line < b.line; });
  issues = std::move(out);
}

}  // namespace

bool expectation_applies(const Expectation& e, const Cell& cell) {
  if (!e.where.is_object()) return false;
  for (const auto& [key, wanted] : e.where.items()) {
    if (!cell.params.is_object() || !cell.params.contains(key)) return false;
    if (!param_equal(cell.params[key], wanted)) return false;
  }
  return true;
}







std::string format_param_value(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string set_at_pointer(json& doc, const std::string& pointer, const json& value) {
  auto tokens = split_pointer(pointer);
  if (!tokens) return "\"" + pointer + "\" is not a JSON Pointer";
  if (tokens->empty()) return "the whole document cannot be replaced";
  json* cur = &doc;
  for (size_t i = 0; i < tokens->size(); ++i) {
    const std::string& t = (*tokens)[i];
    bool last = i + 1 == tokens->size();
    if (cur->is_object()) {
      if (!cur->contains(t)) {
        if (last) {
          (*cur)[t] = value;
          return "";
        }
        (*cur)[t] = json::object();
      }
      cur = &(*cur)[t];
    } else if (cur->is_array()) {
      bool numeric = !t.empty() && t.size() < 10 && std::all_of(t.begin(), t.end(), ::isdigit) &&
                     (t == "0" || t[0] != '0');
      if (!numeric || std::stoul(t) >= cur->size())
        return join_pointer(*tokens, i) + " is a list of " + std::to_string(cur->size()) + " and has no element \"" +
               t + "\"";
      cur = &(*cur)[std::stoul(t)];
    } else {
      return join_pointer(*tokens, i) + " is " + describe_json(*cur) + ", not an object";
    }
    if (last) *cur = value;
  }
  return "";
}

std::vector<InputIssue> validate_document(const Document& doc) {
  std::vector<InputIssue> issues;
  validate_and_expand(doc.value, doc.file, doc.lines, issues, nullptr);
  return issues;
}

Scenario load_scenario(const Document& doc) {
  auto issues = validate_document(doc);
  if (!issues.empty()) throw ScenarioError(std::move(issues));
  Scenario s;
  std::vector<InputIssue> ignored;  // with a matrix only the cells need to be complete
  validate_scenario_value(doc.value, doc.file, ignored, &s);
  s.lines = doc.lines;
  return s;
}

Document load_document_file(const std::string& path, const DocumentLimits& limits) {
  namespace fs = std::filesystem;
  auto fail = [&](const std::string& message) { return ScenarioError({InputIssue{path, "", 0, message}}); };
  std::error_code ec;
  auto status = fs::status(path, ec);
  if (!ec && fs::is_directory(status)) throw fail(std::string("this is a folder; expected ") + limits.what + " file (.json)");
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) throw fail("cannot read the file (" + std::string(std::strerror(errno ? errno : EIO)) + ")");
  // Read in chunks up to one byte more than the limit: /dev/zero or a huge file cannot exhaust
  // memory, and a small file costs no more than its size.
  std::string text;
  char chunk[65536];
  while (text.size() <= limits.max_bytes) {
    errno = 0;
    in.read(chunk, sizeof chunk);
    if (in.bad()) throw fail("cannot read the file (" + std::string(std::strerror(errno ? errno : EIO)) + ")");
    text.append(chunk, static_cast<size_t>(in.gcount()));
    if (in.eof()) break;
  }
  if (text.size() > limits.max_bytes) {
    std::optional<size_t> size;
    if (fs::is_regular_file(status)) size = static_cast<size_t>(fs::file_size(path, ec));
    throw ScenarioError({too_large_issue(path, ec ? std::nullopt : size, limits)});
  }
  return parse_document(text, path, limits);
}

Scenario load_scenario_file(const std::string& path) { return load_scenario(load_document_file(path)); }

Scenario load_scenario_json(const json& value, const std::string& label) {
  Document doc;
  doc.file = label;
  doc.value = value;
  return load_scenario(doc);
}

Scenario load_scenario_text(const std::string& text, const std::string& label) {
  Document doc;
  try {
    doc = parse_document(text, label);
  } catch (const ScenarioError& e) {
    auto issues = e.issues();
    for (auto& issue : issues) issue.line = 0;
    throw ScenarioError(std::move(issues));
  }
  doc.lines.clear();
  return load_scenario(doc);
}

std::vector<Cell> expand_cells(const Scenario& scenario) {
  std::vector<InputIssue> issues;
  std::vector<Cell> cells;
  validate_and_expand(scenario.document, scenario.file, scenario.lines, issues, &cells);
  if (!issues.empty()) throw ScenarioError(std::move(issues));
  return cells;
}

std::vector<std::string> collect_scenario_files(const std::vector<std::string>& paths) {
  namespace fs = std::filesystem;
  std::vector<std::string> files;
  std::vector<InputIssue> issues;
  for (const auto& path : paths) {
    std::error_code ec;
    auto status = fs::status(path, ec);
    if (ec && ec != std::errc::no_such_file_or_directory && ec != std::errc::not_a_directory) {
      issues.push_back({path, "", 0, "cannot access it (" + ec.message() + ")"});
      continue;
    }
    if (ec || !fs::exists(status)) {
      issues.push_back({path, "", 0, "no such file or folder; expected a scenario file (.json) or a folder of them"});
      continue;
    }
    if (!fs::is_directory(status)) {
      files.push_back(path);
      continue;
    }
    // Subfolders too (scenarios/gallery/ with its config files beside its scenarios).
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const auto& entry = *it;
      if (!entry.is_regular_file(ec)) continue;
      auto name = entry.path().filename().string();
      if (entry.path().extension() != ".json" || name == "schema.json") continue;
      found.push_back(entry.path().string());
    }
    if (ec) {
      issues.push_back({path, "", 0, "cannot list the folder (" + ec.message() + ")"});
      continue;
    }
    if (found.empty()) issues.push_back({path, "", 0, "no scenario files (*.json) in this folder"});
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  if (!issues.empty()) throw ScenarioError(std::move(issues));
  return files;
}

LoadedScenarios load_scenario_paths(const std::vector<std::string>& paths) {
  LoadedScenarios out;
  std::vector<std::string> files;
  try {
    files = collect_scenario_files(paths);
  } catch (const ScenarioError& e) {
    out.issues = e.issues();
    return out;
  }
  for (const auto& f : files) {
    try {
      auto s = load_scenario_file(f);
      (void)expand_cells(s);
      out.scenarios.push_back(std::move(s));
    } catch (const ScenarioError& e) {
      out.issues.insert(out.issues.end(), e.issues().begin(), e.issues().end());
    }
  }
  return out;
}

}  // namespace sockchaos::harness
