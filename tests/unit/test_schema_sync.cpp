// scenarios/schema.json and the parser cannot drift: for every object in the schema, a document
// using each property (with the schema's own example value) must validate, and an unknown
// sibling must be rejected with an "unknown key" issue whose list of expected keys is exactly
// the schema's property set. Variants (oneOf by "kind") are walked one by one.
#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "harness/model/load.hpp"
#include "harness/model/pointer.hpp"
#include "scenario_test_util.hpp"

namespace sockchaos::harness {
namespace {

json load_schema() {
  std::ifstream in(std::string(SOCKCHAOS_SCENARIO_DIR) + "/schema.json");
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

class SchemaWalker {
 public:
  explicit SchemaWalker(json schema) : schema_(std::move(schema)) {}

  const json& resolve(const json& node) const {
    if (node.is_object() && node.contains("$ref")) {
      std::string ref = node["$ref"];
      EXPECT_EQ(ref.rfind("#/$defs/", 0), 0u) << ref;
      return resolve(schema_["$defs"][ref.substr(8)]);
    }
    return node;
  }

  // A valid value for `node`: its const, its first example, or an object of its required keys.
  json minimal(const json& node) const {
    if (node.contains("const")) return node["const"];
    if (node.contains("examples")) return node["examples"][0];
    const json& r = resolve(node);
    if (&r != &node) return minimal(r);
    if (node.contains("oneOf")) return minimal(node["oneOf"][0]);
    if (node.value("type", "") == "object") {
      json out = json::object();
      for (const auto& key : node.value("required", json::array())) out[key.get<std::string>()] = minimal(node["properties"][key.get<std::string>()]);
      return out;
    }
    if (node.value("type", "") == "array") return json::array();
    ADD_FAILURE() << "schema node without const/examples/type: " << node.dump();
    return nullptr;
  }

  // Puts `object` at `path` in a base document, with the context some keys need.
  json document(const std::string& path, json object, const std::string& property) const {
    json doc = json::parse(R"({"name": "schema-sync"})");
    for (const auto& [seed_path, seed_value] : seeds_) EXPECT_EQ(set_at_pointer(doc, seed_path, seed_value), "");
    if (path.empty()) {
      doc.update(object);
    } else {
      EXPECT_EQ(set_at_pointer(doc, path, object), "") << path;
    }
    // Keys that only make sense together with another one.
    if (path == "/server") {
      if (property == "command") doc["server"]["behavior"] = "command";
      if (property == "upstream") doc["server"]["behavior"] = "proxy";
      if (property == "response") doc["server"]["behavior"] = "respond";
      if (property == "behavior" && doc["server"]["behavior"] == "command") doc["server"]["command"] = {"x"};
    }
    if (path == "/upstream_server" && property == "response") doc["upstream_server"]["behavior"] = "respond";
    if (path == "/expect/0") {
      if (property == "where") doc["matrix"] = {{"/deadline", {"30s"}}};
      if (property == "where" || property == "host" || property == "<unknown>") doc["expect"][0]["detected_within"] = "3s";
      // A TIME_WAIT lifetime is judged only during the observation.
      if (property == "time_wait_cleared_after" || property == "time_wait_cleared_within") doc["observe"] = "2m";
    }
    return doc;
  }

  void walk_object(const json& node, const std::string& path) {
    ASSERT_TRUE(node.contains("properties")) << path;
    EXPECT_EQ(node.value("additionalProperties", true), false) << "schema object at " << path << " must be closed";
    json base = minimal_object(node);
    std::set<std::string> schema_keys;
    for (const auto& [property, sub] : node["properties"].items()) {
      schema_keys.insert(property);
      json object = base;
      object[property] = minimal(sub);
      auto issues = testing::issues_of_json(document(path, object, property));
      EXPECT_TRUE(issues.empty()) << "the parser rejects " << path << "/" << property << " = "
                                  << object[property].dump() << ":\n" << testing::dump_issues(issues);
      ++properties_checked;
    }
    // An unknown sibling is rejected, and the parser's list of keys equals the schema's.
    json object = base;
    object["zz_not_a_key"] = 1;
    auto issues = testing::issues_of_json(document(path, object, "<unknown>"));
    const InputIssue* issue = testing::find_issue(issues, path + "/zz_not_a_key");
    if (!issue) {
      ADD_FAILURE() << "the parser accepts an unknown key at " << path << ":\n" << testing::dump_issues(issues);
    } else {
      auto at = issue->message.find("expected one of: ");
      ASSERT_NE(at, std::string::npos) << issue->message;
      std::set<std::string> parser_keys;
      std::stringstream list(issue->message.substr(at + 17));
      std::string key;
      while (std::getline(list, key, ',')) {
        key.erase(0, key.find_first_not_of(' '));
        key = key.substr(0, key.find(' '));
        parser_keys.insert(key);
      }
      EXPECT_EQ(parser_keys, schema_keys) << "parser and schema keys differ at " << path;
    }
    ++objects_checked;
    for (const auto& [property, sub] : node["properties"].items()) walk_child(sub, path + "/" + escape_pointer_token(property));
  }

  void walk_child(const json& node, const std::string& path) {
    const json& r = resolve(node);
    if (r.contains("oneOf") || r.contains("anyOf")) {
      for (const auto& variant : r.contains("oneOf") ? r["oneOf"] : r["anyOf"]) {
        const json& v = resolve(variant);
        if (v.value("type", "") == "object" && v.contains("properties")) walk_object(v, path);
      }
      return;
    }
    std::string type = r.value("type", "");
    if (type == "object" && r.contains("properties") && r.value("additionalProperties", true) == false) {
      walk_object(r, path);
    } else if (type == "object" && r.contains("additionalProperties") && r["additionalProperties"].is_object() &&
               r.contains("examples")) {
      // A map (hosts): walk the value schema under the example's first key.
      std::string key = r["examples"][0].begin().key();
      seeds_.emplace_back(path, r["examples"][0]);
      walk_child(r["additionalProperties"], path + "/" + escape_pointer_token(key));
      seeds_.pop_back();
    } else if (type == "array" && r.contains("items") && r["items"].is_object() &&
               (resolve(r["items"]).contains("properties") || resolve(r["items"]).contains("oneOf"))) {
      seeds_.emplace_back(path, json::array({minimal(r["items"])}));
      walk_child(r["items"], path + "/0");
      seeds_.pop_back();
    }
  }

  json minimal_object(const json& node) const {
    json out = json::object();
    for (const auto& key : node.value("required", json::array())) {
      std::string k = key;
      out[k] = minimal(node["properties"][k]);
    }
    return out;
  }

  int objects_checked = 0;
  int properties_checked = 0;

 private:
  json schema_;
  std::vector<std::pair<std::string, json>> seeds_;  // containers set before the object walked
};

TEST(SchemaSync, EverySchemaPropertyIsAcceptedAndUnknownSiblingsRejected) {
  json schema = load_schema();
  ASSERT_TRUE(schema.is_object());
  SchemaWalker walker(schema);
  // Containers of arrays need an element to walk into: seed the document paths they use.
  walker.walk_object(schema, "");
  // Every object kind is reached: top, host, server, client, socket, keepalive, raw option,
  // 5 workloads, 7 faults (+3 match), expectation.
  EXPECT_GE(walker.objects_checked, 22);
  EXPECT_GE(walker.properties_checked, 100);
}

TEST(SchemaSync, SchemaIsADeclaredJsonSchemaWithDescriptions) {
  json schema = load_schema();
  EXPECT_EQ(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
  EXPECT_EQ(schema["additionalProperties"], false);
  for (const auto& [name, prop] : schema["properties"].items())
    EXPECT_TRUE(prop.contains("description") || prop.contains("$ref")) << name;
  for (const auto& [name, def] : schema["$defs"].items()) {
    if (!def.contains("properties")) continue;
    for (const auto& [prop_name, prop] : def["properties"].items())
      EXPECT_TRUE(prop.contains("description") || prop.contains("$ref")) << name << "." << prop_name;
  }
}

TEST(SchemaSync, ShippedScenariosAreValid) {
  for (const auto& file : collect_scenario_files({SOCKCHAOS_SCENARIO_DIR})) {
    SCOPED_TRACE(file);
    try {
      auto cells = expand_cells(load_scenario_file(file));
      EXPECT_FALSE(cells.empty());
    } catch (const ScenarioError& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

}  // namespace
}  // namespace sockchaos::harness
