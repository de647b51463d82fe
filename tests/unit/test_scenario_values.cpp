// Durations, byte rates, cell value formatting, JSONC parsing and line numbers.
#include <gtest/gtest.h>

#include "harness/world/user_command.hpp"
#include "harness/model/load.hpp"
#include "scenario_test_util.hpp"

namespace sockchaos::harness {
namespace {

using namespace std::chrono_literals;
using testing::issues_of;

TEST(Duration, ParsesEveryUnit) {
  EXPECT_EQ(parse_duration("250ms"), Nanos(250ms));
  EXPECT_EQ(parse_duration("3s"), Nanos(3s));
  EXPECT_EQ(parse_duration("1.5s"), Nanos(1500ms));
  EXPECT_EQ(parse_duration("2m"), Nanos(120s));
  EXPECT_EQ(parse_duration("2h"), Nanos(7200s));
  EXPECT_EQ(parse_duration("500us"), Nanos(500us));
  EXPECT_EQ(parse_duration("0s"), Nanos(0));
  EXPECT_EQ(parse_duration("0.001us"), Nanos(1));
  EXPECT_EQ(parse_duration("1.25m"), Nanos(75s));
}

TEST(Duration, RejectsBadTextAndSaysWhy) {
  std::string why;
  EXPECT_FALSE(parse_duration("3", &why));
  EXPECT_NE(why.find("write \"3s\""), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("3sec", &why));
  EXPECT_NE(why.find("unit"), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("-1s", &why));
  EXPECT_NE(why.find("negative"), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("3 s", &why));
  EXPECT_NE(why.find("write \"3s\""), std::string::npos) << why;
  EXPECT_FALSE(parse_duration("", &why));
  EXPECT_FALSE(parse_duration("s", &why));
  EXPECT_FALSE(parse_duration("1.s", &why));
  EXPECT_FALSE(parse_duration(".5s", &why));
  EXPECT_FALSE(parse_duration("0.0001us", &why));  // finer than a nanosecond
  EXPECT_FALSE(parse_duration("99999999999h", &why));
}

TEST(Duration, FormatsShortestExactForm) {
  EXPECT_EQ(format_duration(250ms), "250ms");
  EXPECT_EQ(format_duration(1500ms), "1.5s");
  EXPECT_EQ(format_duration(3s), "3s");
  EXPECT_EQ(format_duration(120s), "2m");
  EXPECT_EQ(format_duration(90s), "90s");
  EXPECT_EQ(format_duration(7200s), "2h");
  EXPECT_EQ(format_duration(100ms), "100ms");
  EXPECT_EQ(format_duration(500us), "500us");
  EXPECT_EQ(format_duration(Nanos(0)), "0s");
  EXPECT_EQ(format_duration(Nanos(1)), "0.001us");
  for (auto d : {Nanos(1), Nanos(1234567), Nanos(3723000000000), Nanos(61s), Nanos(59999ms)})
    EXPECT_EQ(parse_duration(format_duration(d)), d) << format_duration(d);
}

TEST(ByteRate, ParsesUnits) {
  EXPECT_DOUBLE_EQ(*parse_byte_rate("100KiB/s"), 102400.0);
  EXPECT_DOUBLE_EQ(*parse_byte_rate("1MiB/s"), 1048576.0);
  EXPECT_DOUBLE_EQ(*parse_byte_rate("500B/s"), 500.0);
  EXPECT_DOUBLE_EQ(*parse_byte_rate("10kB/s"), 10000.0);
  EXPECT_DOUBLE_EQ(*parse_byte_rate("10KB/s"), 10000.0);
  EXPECT_DOUBLE_EQ(*parse_byte_rate("2MB/s"), 2e6);
  EXPECT_DOUBLE_EQ(*parse_byte_rate("1.5KiB/s"), 1536.0);
  std::string why;
  EXPECT_FALSE(parse_byte_rate("100KiB", &why));
  EXPECT_NE(why.find("/s"), std::string::npos);
  EXPECT_FALSE(parse_byte_rate("100Kb/s", &why));
  EXPECT_NE(why.find("unit"), std::string::npos);
  EXPECT_FALSE(parse_byte_rate("0B/s", &why));
  EXPECT_FALSE(parse_byte_rate("/s", &why));
}

TEST(ParamValue, StringsBareOtherValuesCompactJson) {
  EXPECT_EQ(format_param_value(json("2s")), "2s");
  EXPECT_EQ(format_param_value(json("off")), "off");
  EXPECT_EQ(format_param_value(json(3)), "3");
  EXPECT_EQ(format_param_value(json(0.5)), "0.5");
  EXPECT_EQ(format_param_value(json(true)), "true");
  json ka = json::parse(R"({"idle": "1s", "interval": "1s", "count": 3})");
  EXPECT_EQ(format_param_value(ka), R"({"idle":"1s","interval":"1s","count":3})");
}

TEST(Jsonc, CommentsAreSkippedButNotInsideStrings) {
  auto doc = parse_document(R"(// leading comment
{
  /* block
     comment */ "name": "a-b", // trailing
  "description": "has // and /* inside */ a string"
})", "c.json");
  EXPECT_EQ(doc.value["name"], "a-b");
  EXPECT_EQ(doc.value["description"], "has // and /* inside */ a string");
  EXPECT_EQ(doc.lines.at("/name"), 4);
  EXPECT_EQ(doc.lines.at("/description"), 5);
  EXPECT_EQ(doc.lines.at(""), 2);
}

TEST(Jsonc, RecordsLinesOfNestedValuesAndEscapedKeys) {
  auto doc = parse_document("{\n\"matrix\": {\n  \"/client/socket/x\": [\n    \"a\",\n    {\"b\": 1}\n  ]\n}\n}", "m.json");
  EXPECT_EQ(doc.lines.at("/matrix"), 2);
  EXPECT_EQ(doc.lines.at("/matrix/~1client~1socket~1x"), 3);
  EXPECT_EQ(doc.lines.at("/matrix/~1client~1socket~1x/0"), 4);
  EXPECT_EQ(doc.lines.at("/matrix/~1client~1socket~1x/1/b"), 5);
  // key order is kept
  auto ordered = parse_document(R"({"z": 1, "a": 2, "m": 3})", "o.json");
  std::vector<std::string> keys;
  for (const auto& [k, v] : ordered.value.items()) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"z", "a", "m"}));
}

TEST(Jsonc, KeepsIntegersAndFloatsAndUnicode) {
  auto doc = parse_document(R"({"i": 7, "f": 0.5, "n": -3, "e": 1e3, "u": "\u00e9\ud83d\ude00", "t": true, "z": null})", "x");
  EXPECT_TRUE(doc.value["i"].is_number_integer());
  EXPECT_TRUE(doc.value["f"].is_number_float());
  EXPECT_EQ(doc.value["n"], -3);
  EXPECT_EQ(doc.value["u"], "\xC3\xA9\xF0\x9F\x98\x80");
  EXPECT_TRUE(doc.value["z"].is_null());
}

// Numbers and strings take fast paths (from_chars, runs of plain bytes); each must read exactly
// what nlohmann's own parser reads, type included (unsigned, signed, float), edge cases too.
TEST(Jsonc, NumbersAndStringsReadAsNlohmannReadsThem) {
  const std::vector<std::string> numbers = {
      "0", "-0", "7", "-3", "18446744073709551615", "18446744073709551616", "-9223372036854775808",
      "-9223372036854775809", "123456789012345678901234567890", "0.5", "-0.0", "1e3", "1E-3", "2.5e+2",
      "1e-400", "4.9e-324", "1.7976931348623157e308", "0.1", "3.141592653589793238462643383279"};
  for (const auto& n : numbers) {
    auto doc = parse_document("{\"v\": " + n + "}", "n.json");
    json want = json::parse(n);
    EXPECT_EQ(doc.value["v"].type(), want.type()) << n;
    EXPECT_EQ(doc.value["v"].dump(), want.dump()) << n;
  }
  const std::vector<std::string> strings = {
      R"("")", R"("plain ascii run with spaces ~ and DEL \u007f")", "\"a\x7F" "b\"",
      R"("esc \"q\" \\ \/ \b\f\n\r\t end")", "\"caf\xC3\xA9 after\"", R"("\u00e9x\ud83d\ude00y")",
      "\"" + std::string(300, 'k') + "\\n" + std::string(70, 'z') + "\""};
  for (const auto& s : strings) {
    auto doc = parse_document("{\"v\": " + s + "}", "s.json");
    EXPECT_EQ(doc.value["v"], json::parse(s)) << s;
  }
  // Beyond a double: refused with our message, not nlohmann's text.
  EXPECT_THROW(parse_document(R"({"v": 1e309})", "big.json"), ScenarioError);
  EXPECT_THROW(parse_document(R"({"v": -1e309})", "big.json"), ScenarioError);
}
void expect_syntax_error(const std::string& text, int line, const std::string& substring) {
  try {
    parse_document(text, "s.json");
    ADD_FAILURE() << "no syntax error for: " << text;
  } catch (const ScenarioError& e) {
    ASSERT_EQ(e.issues().size(), 1u);
    EXPECT_EQ(e.issues()[0].file, "s.json");
    EXPECT_EQ(e.issues()[0].line, line) << e.what();
    EXPECT_NE(e.issues()[0].message.find(substring), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("s.json:" + std::to_string(line) + ": "), std::string::npos) << e.what();
  }
}

TEST(Jsonc, SyntaxErrorsNameLineAndWhatWasExpected) {
  expect_syntax_error("{\n  \"name\": \"x\"\n  \"deadline\": \"3s\"\n}", 3, "expected ',' or '}'");
  expect_syntax_error("{\n  \"name\": \"x\",\n}", 3, "trailing comma");
  expect_syntax_error("{\n  \"name\": 'x'\n}", 2, "double quotes");
  expect_syntax_error("{\n  \"a\": [1, 2,\n  ]\n}", 3, "trailing comma");
  expect_syntax_error("{\n  \"a\": 1 /* never closed\n}", 2, "'*/'");
  expect_syntax_error("{\n  \"a\": \"never closed\n}", 2, "close the string");
  expect_syntax_error("{\n  \"a\": 1,\n  \"a\": 2\n}", 3, "duplicate key \"a\"");
  expect_syntax_error("{\n\n  \"deadline\": 3s\n}", 3, "did you mean \"3s\"");
  expect_syntax_error("", 1, "empty");
  expect_syntax_error("{\"a\": 1} x", 1, "end of the document");
  expect_syntax_error("{\n \"a\" 1}", 2, "expected ':'");
  expect_syntax_error("{\"a\": {\"b\": 1}", 1, "close the object opened on line 1");
}

TEST(Issues, StrFormatIsFileLinePointerMessage) {
  InputIssue i{"a.json", "/client/socket", 7, "expected an object"};
  EXPECT_EQ(i.str(), "a.json:7: /client/socket: expected an object");
  InputIssue no_line{"<dict>", "", 0, "expected a \"name\" key"};
  EXPECT_EQ(no_line.str(), "<dict>: expected a \"name\" key");
  // Control characters of the user's text are escaped: one issue, one line.
  InputIssue odd{"b\tc.json", "/a\nb", 3, std::string("unknown key \"a\nb\x01\x7f\r\" caf\xC3\xA9")};
  EXPECT_EQ(odd.str(), "b\\tc.json:3: /a\\nb: unknown key \"a\\nb\\x01\\x7f\\r\" caf\xC3\xA9");
}

}  // namespace
}  // namespace sockchaos::harness

namespace sockchaos::harness {
}  // namespace sockchaos::harness
