// The scenario parser's contract on arbitrary bytes, shared by the libFuzzer target
// (fuzz_scenario.cpp, clang + sanitizers) and the corpus regression unit test (g++): parse,
// validate, load and expand cells; whatever the input,
//   - nothing but ScenarioError is thrown, and only where the contract says so;
//   - every issue names the file, has a message, is valid UTF-8 (Python turns it into str)
//     and prints on one line;
//   - a syntax error has a line and a well-formed JSON Pointer (where the reading stopped),
//     and load_scenario_text (Python's path) reports it without the line;
//   - a validation issue has a line and a pointer into the document (or its matrix cells);
//   - an accepted document is what nlohmann's own parser reads from the same text (with
//     comments ignored), survives dump + parse unchanged, and expands into cells with unique ids.
// check_scenario_input returns "" when all of that holds, else what broke.
#pragma once
#include <set>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "harness/model/load.hpp"

namespace sockchaos::fuzz {

inline bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    uint32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < n; ++k) {
      unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// RFC 6901 pointer syntax: "" or "/..." with "~" only as "~0" or "~1".
inline bool well_formed_pointer(const std::string& p) {
  if (p.empty()) return true;
  if (p[0] != '/') return false;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] == '~' && (i + 1 >= p.size() || (p[i + 1] != '0' && p[i + 1] != '1'))) return false;
  return true;
}

inline bool resolves(const harness::json& doc, const std::string& pointer) {
  try {
    return doc.contains(harness::json::json_pointer(pointer));
  } catch (const harness::json::exception&) {
    return false;
  }
}

// Where a validation issue may point: at a value of the document, or at a value a matrix
// pointer creates in its cells (an implicit "/server" that "/server/behavior" sets).
inline bool points_into(const harness::json& doc, const std::string& pointer) {
  if (resolves(doc, pointer)) return true;
  if (!doc.is_object() || !doc.contains("matrix") || !doc["matrix"].is_object()) return false;
  for (const auto& item : doc["matrix"].items()) {
    const std::string& axis = item.key();
    if (axis == pointer || (axis.size() > pointer.size() && axis.compare(0, pointer.size(), pointer) == 0 &&
                            axis[pointer.size()] == '/'))
      return true;
  }
  return false;
}

inline std::string check_issues(const std::vector<harness::InputIssue>& issues, const std::string& file,
                                const harness::Document* doc, const std::string& stage) {
  if (issues.empty()) return stage + ": a ScenarioError without issues";
  for (const auto& i : issues) {
    const std::string text = i.str();
    // The finding's text is built only when there is one (most inputs have issues and none).
    auto where = [&] { return stage + ": issue \"" + text + "\": "; };
    if (i.file != file) return where() + "names the file \"" + i.file + "\", not \"" + file + "\"";
    if (i.message.empty()) return where() + "has no message";
    if (!valid_utf8(i.message) || !valid_utf8(i.pointer)) return stage + ": an issue is not valid UTF-8";
    if (!well_formed_pointer(i.pointer)) return where() + "has a malformed JSON Pointer";
    if (text.find('\n') != std::string::npos) return where() + "spans more than one line";
    if (i.line <= 0) return where() + "has no line";
    if (doc && !points_into(doc->value, i.pointer)) return where() + "points outside the document";
  }
  return "";
}

// Runs `fn`, turning anything it throws but ScenarioError into a finding.
template <class Fn>
std::string only_scenario_errors(const std::string& stage, Fn&& fn, std::vector<harness::InputIssue>* thrown) {
  try {
    fn();
  } catch (const harness::ScenarioError& e) {
    if (!thrown) return stage + ": threw ScenarioError where none was expected: " + e.what();
    *thrown = e.issues();
    if (thrown->empty()) return stage + ": a ScenarioError without issues";
  } catch (const std::exception& e) {
    return stage + ": threw " + typeid(e).name() + ": " + e.what();
  } catch (...) {
    return stage + ": threw a non-std exception";
  }
  return "";
}

inline std::string check_scenario_input(std::string_view bytes, const std::string& file = "fuzz.json") {
  using namespace harness;
  const std::string text(bytes);
  Document doc;
  std::vector<InputIssue> syntax;
  if (auto e = only_scenario_errors("parse_document", [&] { doc = parse_document(text, file); }, &syntax); !e.empty())
    return e;
  if (!syntax.empty()) {
    if (syntax.size() != 1) return "parse_document: expected one syntax error, got " + std::to_string(syntax.size());
    if (auto e = check_issues(syntax, file, nullptr, "parse_document"); !e.empty()) return e;
    // The Python path (text of a dict): the same error, without the line.
    std::vector<InputIssue> from_text;
    if (auto e = only_scenario_errors("load_scenario_text", [&] { load_scenario_text(text, file); }, &from_text);
        !e.empty())
      return e;
    if (from_text.size() != 1 || from_text[0].line != 0 || from_text[0].message != syntax[0].message ||
        from_text[0].pointer != syntax[0].pointer)
      return "load_scenario_text: another error than parse_document's, or with a line";
    return "";
  }
  if (doc.file != file || !doc.lines.count("")) return "parse_document: no file or no line for the document";

  // Accepted: nlohmann reads the same value (we are stricter: duplicates, depth, \u0000, NUL).
  json reference = json::parse(text, nullptr, false, /*ignore_comments=*/true);
  if (reference.is_discarded()) return "parse_document accepted what nlohmann refuses";
  if (reference != doc.value) return "parse_document read another value than nlohmann";
  std::string dumped;
  if (auto e = only_scenario_errors("dump", [&] { dumped = doc.value.dump(); }, nullptr); !e.empty()) return e;
  Document again;
  if (auto e = only_scenario_errors("parse_document(dump)", [&] { again = parse_document(dumped, file); }, nullptr);
      !e.empty())
    return e;
  if (again.value != doc.value) return "dump + parse_document changed the value";

  // load_scenario is validate_document (it throws exactly its issues), then the base
  // scenario's own fields: one call checks both, as validating a matrix validates every cell,
  // the bulk of an execution's time.
  Scenario scenario;
  std::vector<InputIssue> refused;
  if (auto e = only_scenario_errors("load_scenario", [&] { scenario = load_scenario(doc); }, &refused); !e.empty())
    return e;
  if (!refused.empty()) return check_issues(refused, file, &doc, "load_scenario");

  // The Python path (text of a dict) accepts what the file path accepts.
  if (auto e = only_scenario_errors("load_scenario_text", [&] { load_scenario_text(text, file); }, nullptr); !e.empty())
    return e;

  std::vector<Cell> cells;
  if (auto e = only_scenario_errors("expand_cells", [&] { cells = expand_cells(scenario); }, nullptr); !e.empty())
    return e;
  if (cells.empty() || cells.size() > kMaxCells) return "expand_cells: " + std::to_string(cells.size()) + " cells";
  std::set<std::string> ids;
  for (const auto& c : cells) {
    if (!valid_utf8(c.full_id())) return "expand_cells: a cell id is not valid UTF-8";
    if (!ids.insert(c.id).second) return "expand_cells: two cells with the id \"" + c.id + "\"";
    if (c.scenario.name != scenario.name) return "expand_cells: a cell of another scenario";
    std::string cell_dump;
    if (auto e = only_scenario_errors("dump(cell)", [&] { cell_dump = c.scenario.document.dump() + c.params.dump(); },
                                      nullptr);
        !e.empty())
      return e;
  }
  return "";
}

}  // namespace sockchaos::fuzz
