// Malformed scenario input: every case is a ScenarioError naming the file, the line (where
// there is one), the JSON Pointer of the value being read and what was expected; never a raw
// nlohmann exception, never unbounded memory or time.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/model/load.hpp"
#include "harness/model/pointer.hpp"
#include "scenario_test_util.hpp"
#include "tests/fuzz/scenario_check.hpp"

namespace sockchaos::harness {
namespace {

namespace fs = std::filesystem;
using testing::issues_of;

// The one syntax error of `text`, failing the test when it parses.
InputIssue syntax_error(const std::string& text, const std::string& file = "m.json") {
  try {
    parse_document(text, file);
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.issues().size(), 1u) << e.what();
    if (!e.issues().empty()) {
      EXPECT_EQ(e.issues()[0].file, file);
      EXPECT_TRUE(fuzz::valid_utf8(e.what())) << e.what();
      return e.issues()[0];
    }
  }
  ADD_FAILURE() << "no syntax error for: " << text.substr(0, 200);
  return {};
}

#define EXPECT_CONTAINS(haystack, needle) \
  EXPECT_NE(std::string(haystack).find(needle), std::string::npos) << (haystack)

TEST(Malformed, InvalidUtf8IsRefusedWithLinePointerAndByte) {
  auto in_value = syntax_error("{\n  \"name\": \"a\xFF\"\n}");
  EXPECT_EQ(in_value.line, 2);
  EXPECT_EQ(in_value.pointer, "/name");
  EXPECT_CONTAINS(in_value.message, "byte 13 of the line (0xFF) is not valid UTF-8");

  auto in_key = syntax_error("{\"client\": {\"o\xC3\": 1}}");
  EXPECT_EQ(in_key.pointer, "/client");
  EXPECT_CONTAINS(in_key.message, "UTF-8");

  auto in_comment = syntax_error("{\n// caf\xE9\n\"name\": \"x\"}");
  EXPECT_EQ(in_comment.line, 2);
  EXPECT_CONTAINS(in_comment.message, "(0xE9) is not valid UTF-8");

  auto outside = syntax_error("{\"name\": \xFE}");
  EXPECT_EQ(outside.pointer, "/name");
  EXPECT_CONTAINS(outside.message, "the byte 0xFE at byte 10 of the line, which is not valid UTF-8");

  // Overlong forms, UTF-16 surrogates and code points above U+10FFFF are not UTF-8 either.
  for (const char* bad : {"\xC0\xAF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xF8\x88\x80\x80\x80"})
    EXPECT_CONTAINS(syntax_error(std::string("{\"name\": \"") + bad + "\"}").message, "not valid UTF-8");

  // Well-formed multi-byte text is kept as it is, in strings and comments.
  auto doc = parse_document("{/* \xC3\xA9 */ \"description\": \"\xE2\x82\xAC \xF0\x9F\x98\x80\"}", "ok.json");
  EXPECT_EQ(doc.value["description"], "\xE2\x82\xAC \xF0\x9F\x98\x80");
}

TEST(Malformed, NumbersBeyondADoubleAreRefusedAtTheirPointer) {
  for (const std::string& number : std::vector<std::string>{"1e309", "-1e309", std::string(400, '9'), "-" + std::string(400, '9')}) {
    auto issue = syntax_error("{\"name\": \"x\",\n \"repeat\": " + number + "}");
    EXPECT_EQ(issue.pointer, "/repeat");
    EXPECT_EQ(issue.line, 2);
    EXPECT_CONTAINS(issue.message, "magnitude at most 1.8e308");
    EXPECT_LT(issue.message.size(), 200u);  // a 400-digit number is shortened
  }
  // Integers beyond 64 bits but within a double, and beyond int64 within uint64: range errors.
  auto issues = issues_of(R"({"name": "x", "repeat": 99999999999999999999})");
  EXPECT_ISSUE(issues, "/repeat", "expected a whole number from 1 to 1000");
  issues = issues_of(R"({"name": "x", "repeat": 18446744073709551615, "server": {"port": 9223372036854775808}})");
  EXPECT_ISSUE(issues, "/repeat", "expected a whole number from 1 to 1000; got the number 18446744073709551615");
  EXPECT_ISSUE(issues, "/server/port", "expected a whole number from 1 to 65535");
  // Underflow is a zero, as everywhere.
  EXPECT_EQ(parse_document(R"({"f": 1e-400})", "u.json").value["f"], 0.0);
}

TEST(Malformed, NestingDeeperThanTheLimitNamesWhereItWasExceeded) {
  std::string ok = "{\"description\": " + std::string(kMaxNestingDepth - 1, '[') + std::string(kMaxNestingDepth - 1, ']') + "}";
  EXPECT_NO_THROW(parse_document(ok, "ok.json"));
  std::string deep = "{\"description\": " + std::string(kMaxNestingDepth, '[') + std::string(kMaxNestingDepth, ']') + "}";
  auto issue = syntax_error(deep);
  std::string expected_pointer = "/description";
  for (int i = 0; i < kMaxNestingDepth - 1; ++i) expected_pointer += "/0";
  EXPECT_EQ(issue.pointer, expected_pointer);
  EXPECT_CONTAINS(issue.message, "at most 64 levels");
  // Far deeper input is refused the same way (no recursion to exhaust the stack).
  EXPECT_CONTAINS(syntax_error(std::string(1000000, '[')).message, "at most 64 levels");
}

TEST(Malformed, TooLargeDocumentsAreRefusedWithTheirSize) {
  std::string padded = "{\"name\": \"x\"}" + std::string(kMaxDocumentBytes - 13, ' ');
  ASSERT_EQ(padded.size(), kMaxDocumentBytes);
  EXPECT_NO_THROW(parse_document(padded, "max.json"));
  auto issue = syntax_error(padded + " ");
  EXPECT_EQ(issue.line, 0);
  EXPECT_EQ(issue.pointer, "");
  EXPECT_CONTAINS(issue.message, "the file is 1048577 bytes; expected a scenario of at most 1048576 bytes");
}

TEST(Malformed, NulBytesAndControlCharacters) {
  EXPECT_CONTAINS(syntax_error(std::string("{\"name\": \"a\0b\"}", 15)).message, "NUL byte");
  EXPECT_CONTAINS(syntax_error(std::string("{\"name\":\0 \"x\"}", 14)).message, "NUL byte");
  EXPECT_CONTAINS(syntax_error(std::string("{// a\0b\n}", 9)).message, "NUL byte");
  // UTF-16 text (a NUL after every ASCII byte) is told apart from UTF-8.
  EXPECT_CONTAINS(syntax_error(std::string("{\0\"\0", 4)).message, "UTF-16");
  EXPECT_CONTAINS(syntax_error("\xFF\xFE{\0}\0").message, "UTF-16 byte order mark");
  EXPECT_CONTAINS(syntax_error("{\"name\": \x01}").message, "the control character 0x01");
  // \u0000 would be cut short where strings go (argv, sysctl values): refused too.
  auto nul_escape = syntax_error(R"({"client": {"workload": {"kind": "command", "command": ["a\u0000b"]}}})");
  EXPECT_EQ(nul_escape.pointer, "/client/workload/command/0");
  EXPECT_CONTAINS(nul_escape.message, "\\u0000");
}

TEST(Malformed, EmptyDocumentsAndByteOrderMarks) {
  EXPECT_CONTAINS(syntax_error("").message, "the file is empty");
  EXPECT_CONTAINS(syntax_error("\xEF\xBB\xBF").message, "the file is empty");
  EXPECT_CONTAINS(syntax_error("  // only a comment\n/* and another */\n").message,
                  "empty but for white space and comments");
  // A leading UTF-8 byte order mark is ignored (RFC 8259 §8.1 allows it; Windows editors write
  // one); anywhere else it is not JSON.
  auto doc = parse_document("\xEF\xBB\xBF{\n\"name\": \"bom\"}", "bom.json");
  EXPECT_EQ(doc.value["name"], "bom");
  EXPECT_EQ(doc.lines.at("/name"), 2);
  auto inner = syntax_error("{\"name\": \xEF\xBB\xBF\"x\"}");
  EXPECT_EQ(inner.pointer, "/name");
  EXPECT_CONTAINS(inner.message, "byte order mark (U+FEFF)");
}

TEST(Malformed, DuplicateKeysNameBothLines) {
  auto issue = syntax_error("{\n  \"name\": \"a\",\n  \"client\": {\n    \"on\": \"client\",\n\n    \"on\": \"x\"\n  }\n}");
  EXPECT_EQ(issue.line, 6);
  EXPECT_EQ(issue.pointer, "/client/on");
  EXPECT_CONTAINS(issue.message, "duplicate key \"on\" (first at line 4); expected each key once");
  // The same key in two different objects is fine; so is a key that only differs in escaping.
  EXPECT_NO_THROW(parse_document(R"({"a": {"x": 1}, "b": {"x": 2}})", "ok.json"));
  EXPECT_CONTAINS(syntax_error(R"({"a/b": 1, "a\/b": 2})").message, "duplicate key \"a/b\"");
  // Small objects compare keys one by one, large ones hash them: the same answers either way,
  // for a duplicate of the first key, of one before the switch and of one after it.
  for (int n : {3, 16, 17, 40}) {
    std::string text = "{\n";
    for (int i = 0; i < n; ++i) text += "\"k" + std::to_string(i) + "/x\": " + std::to_string(i) + ",\n";
    for (int dup : {0, n / 2, n - 1}) {
      auto issue = syntax_error(text + "\"k" + std::to_string(dup) + "/x\": 0\n}");
      EXPECT_EQ(issue.line, n + 2) << n << " " << dup;
      EXPECT_EQ(issue.pointer, "/k" + std::to_string(dup) + "~1x") << n << " " << dup;
      EXPECT_CONTAINS(issue.message, "(first at line " + std::to_string(dup + 2) + ")");
    }
    auto doc = parse_document(text + "\"last\": [1, {\"a~b\": 2}]\n}", "many.json");
    EXPECT_EQ(doc.value.size(), static_cast<size_t>(n + 1));
    EXPECT_EQ(doc.lines.at("/k0~1x"), 2);
    EXPECT_EQ(doc.lines.at("/last/1/a~0b"), n + 2);
  }
}

TEST(Malformed, TrailingGarbageAndUnterminatedThings) {
  auto garbage = syntax_error("{\"name\": \"x\"}\n}");
  EXPECT_EQ(garbage.line, 2);
  EXPECT_EQ(garbage.pointer, "");
  EXPECT_CONTAINS(garbage.message, "expected the end of the document after the top-level value; got '}'");
  auto comment = syntax_error("{\"name\": \"x\"\n/* open\n\n");
  EXPECT_EQ(comment.line, 2);
  EXPECT_CONTAINS(comment.message, "'*/'");
  auto string = syntax_error("{\"client\": {\"on\": \"cli");
  EXPECT_EQ(string.pointer, "/client/on");
  EXPECT_CONTAINS(string.message, "close the string opened on line 1");
  auto truncated = syntax_error("{\"client\": {\"on\": \"client\",");
  EXPECT_EQ(truncated.pointer, "/client");
  // A lone carriage return ends a line comment, as in nlohmann and VS Code.
  EXPECT_NO_THROW(parse_document("{// comment\r\"name\": \"x\"}", "cr.json"));
}

TEST(Malformed, OverlongPointersAreRefused) {
  std::string key(kMaxPointerBytes, 'k');
  auto issue = syntax_error("{\"description\": {\"" + key + "\": 1}}");
  EXPECT_CONTAINS(issue.message, "at most 512 bytes");
  EXPECT_NO_THROW(parse_document("{\"" + std::string(kMaxPointerBytes - 1, 'k') + "\": 1}", "ok.json"));
}

TEST(Malformed, MessagesNeverSplitACharacter) {
  // quote_json shortens long values: the cut must not fall inside a UTF-8 character.
  std::string value = "a";
  for (int i = 0; i < 40; ++i) value += "\xC3\xA9";
  auto issues = issues_of("{\"name\": \"x\", \"repeat\": \"" + value + "\"}");
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_TRUE(fuzz::valid_utf8(issues[0].message)) << issues[0].message;
  // A value built in code (not parsed) may hold invalid UTF-8: described, never a type_error.
  json bad = {{"name", "x\xFF"}, {"repeat", "\xFF"}};
  EXPECT_THROW(load_scenario_json(bad), ScenarioError);
  EXPECT_NO_THROW(format_param_value(json::array({"\xFF"})));
}

// ---- files ---------------------------------------------------------------------------------

struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sockchaos-malformed-XXXXXX").string();
    if (::mkdtemp(tmpl.data())) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) {
      fs::permissions(path, fs::perms::owner_all, fs::perm_options::add, ec);
      fs::remove_all(path, ec);
    }
  }
};

InputIssue file_error(const std::string& path) {
  try {
    load_scenario_file(path);
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.issues().size(), 1u);
    if (!e.issues().empty()) {
      EXPECT_EQ(e.issues()[0].file, path);
      return e.issues()[0];
    }
  }
  ADD_FAILURE() << "no error for " << path;
  return {};
}

TEST(MalformedFiles, FoldersMissingUnreadableAndEndlessFiles) {
  TempDir dir;
  ASSERT_FALSE(dir.path.empty());
  EXPECT_CONTAINS(file_error(dir.path.string()).message, "this is a folder; expected a scenario file");
  EXPECT_CONTAINS(file_error((dir.path / "missing.json").string()).message,
                  "cannot read the file (No such file or directory)");
  // Endless or huge input is read up to the limit only.
  EXPECT_CONTAINS(file_error("/dev/zero").message, "the file is more than 1048576 bytes");
  {
    std::ofstream big(dir.path / "big.json");
    big << "{\"name\": \"x\"}" << std::string(2 * kMaxDocumentBytes, ' ');
  }
  EXPECT_CONTAINS(file_error((dir.path / "big.json").string()).message, "the file is 2097165 bytes");
  // A file this user cannot read (root reads everything: then only the others are checked).
  {
    std::ofstream f(dir.path / "secret.json");
    f << "{\"name\": \"x\"}";
  }
  ::chmod((dir.path / "secret.json").c_str(), 0);
  if (::geteuid() != 0) {
    EXPECT_CONTAINS(file_error((dir.path / "secret.json").string()).message, "cannot read the file (Permission denied)");
  }
  // Missing paths and empty folders given to the CLI's collector.
  try {
    collect_scenario_files({(dir.path / "nope").string(), (dir.path / "big.json" / "x").string()});
    ADD_FAILURE() << "no error";
  } catch (const ScenarioError& e) {
    ASSERT_EQ(e.issues().size(), 2u);
    EXPECT_CONTAINS(e.issues()[0].message, "no such file or folder");
    EXPECT_CONTAINS(e.issues()[1].message, "no such file or folder");
  }
}

TEST(MalformedFiles, TextFromPythonCarriesNoLines) {
  // sockchaos.validate(dict) sends json.dumps text: NaN and lone surrogates are Python's, and
  // must be ScenarioErrors (not json exceptions) without the meaningless line 1.
  for (const std::string& text : std::vector<std::string>{R"({"name": "x", "repeat": NaN})", R"({"name": "\udc80"})", "1e999", ""}) {
    try {
      load_scenario_text(text);
      ADD_FAILURE() << "accepted " << text;
    } catch (const ScenarioError& e) {
      ASSERT_EQ(e.issues().size(), 1u);
      EXPECT_EQ(e.issues()[0].file, "<dict>");
      EXPECT_EQ(e.issues()[0].line, 0) << e.what();
    }
  }
  try {
    load_scenario_text(R"({"name": "x", "repeat": NaN})");
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.issues()[0].pointer, "/repeat");
  }
  try {
    load_scenario_text(R"({"name": "x", "repeat": 0})");
    ADD_FAILURE();
  } catch (const ScenarioError& e) {
    EXPECT_EQ(e.issues()[0].str(), "<dict>: /repeat: expected a whole number from 1 to 1000; got the number 0");
  }
  EXPECT_EQ(load_scenario_text(R"({"name": "ok"})").name, "ok");
}

// ---- matrices ------------------------------------------------------------------------------

std::string axis(const std::string& pointer, size_t values, const std::string& unit) {
  std::string out = "\"" + pointer + "\": [";
  for (size_t i = 0; i < values; ++i) out += (i ? ", " : "") + ("\"" + std::to_string(i + 1) + unit + "\"");
  return out + "]";
}

TEST(MalformedMatrix, AbsurdMatricesAreIssuesNotHangs) {
  // More cells than the limit.
  auto issues = issues_of("{\"name\": \"m\", \"matrix\": {" + axis("/deadline", 101, "s") + ", " +
                          axis("/observe", 100, "ms") + "}}");
  EXPECT_ISSUE(issues, "/matrix", "expected at most 10000 cells; this matrix makes more");
  // One axis longer than the cell limit (its values are not even compared with each other).
  issues = issues_of("{\"name\": \"m\", \"matrix\": {" + axis("/deadline", kMaxCells + 1, "ms") + "}}");
  EXPECT_ISSUE(issues, "/matrix/~1deadline", "expected at most 10000 values for a matrix axis");
  // Cells that would take too much memory: a 100 KiB description times 10000 cells.
  issues = issues_of("{\"name\": \"m\", \"description\": \"" + std::string(100 << 10, 'd') + "\", \"matrix\": {" +
                     axis("/deadline", 100, "s") + ", " + axis("/observe", 100, "ms") + "}}");
  EXPECT_ISSUE(issues, "/matrix", "expected the cells of a matrix to take at most 512 MiB; 10000 cells");
  // Within the limits, 10000 cells expand, each without the matrix it came from.
  auto cells = expand_cells(load_scenario(parse_document(
      "{\"name\": \"m\", \"matrix\": {" + axis("/deadline", 100, "s") + ", " + axis("/observe", 100, "ms") + "}}",
      "m.json")));
  ASSERT_EQ(cells.size(), kMaxCells);
  EXPECT_EQ(cells.back().id, "deadline=100s observe=100ms");
  EXPECT_FALSE(cells.back().scenario.document.contains("matrix"));
  EXPECT_EQ(cells.back().scenario.lines.count("/matrix"), 0u);
  EXPECT_EQ(cells.back().scenario.lines.at("/name"), 1);
}

TEST(MalformedMatrix, ValuesThatBreakACellNameTheValue) {
  auto issues = issues_of(R"({"name": "m", "matrix": {"/repeat": [1, 1e300, "x", 18446744073709551615]}})");
  EXPECT_ISSUE(issues, "/matrix/~1repeat/1", "expected a whole number from 1 to 1000");
  EXPECT_ISSUE(issues, "/matrix/~1repeat/2", "expected a whole number from 1 to 1000");
  EXPECT_ISSUE(issues, "/matrix/~1repeat/3", "expected a whole number from 1 to 1000");
}

TEST(MalformedHosts, ThousandsOfLinksAndHosts) {
  // A chain client - h0 - h1 - ... - server, then one host off the chain.
  std::string links = "[\"client\", \"h0\"]";
  const int n = 5000;
  for (int i = 0; i < n; ++i) links += ", [\"h" + std::to_string(i) + "\", \"h" + std::to_string(i + 1) + "\"]";
  links += ", [\"h" + std::to_string(n) + "\", \"server\"], [\"h0\", \"h1\"], [\"lone\", \"lone2\"]";
  auto issues = issues_of("{\"name\": \"chain\", \"links\": [" + links + "]}");
  ASSERT_EQ(issues.size(), 3u) << testing::dump_issues(issues);
  EXPECT_ISSUE(issues, "/links/5002", "expected each link once; [\"h0\", \"h1\"] is already listed");
  EXPECT_ISSUE(issues, "/links", "host \"lone\" is not connected to \"client\"");
  // Messages list at most ten of the declared hosts.
  issues = issues_of("{\"name\": \"chain\", \"links\": [" + links + "], \"faults\": [{\"kind\": \"kill\", \"on\": \"nowhere\"}]}");
  EXPECT_ISSUE(issues, "/faults/0/on", "\"h7\" and 4995 more); got \"nowhere\"");
}

}  // namespace
}  // namespace sockchaos::harness
