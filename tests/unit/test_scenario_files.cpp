// collect_scenario_files and load_scenario_file on real files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "harness/model/load.hpp"

namespace sockchaos::harness {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "sockchaos-scenario-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    std::string p = (fs::path(path_) / name).string();
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(ScenarioFiles, FolderYieldsSortedJsonFilesExceptSchema) {
  TempDir dir;
  dir.write("b.json", "{}");
  dir.write("a.json", "{}");
  dir.write("schema.json", "{}");
  dir.write("notes.txt", "");
  auto single = dir.write("single.jsonc", "{}");  // an explicit file is taken whatever its name
  auto files = collect_scenario_files({dir.path(), single});
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(fs::path(files[0]).filename(), "a.json");
  EXPECT_EQ(fs::path(files[1]).filename(), "b.json");
  EXPECT_EQ(files[2], single);
}

TEST(ScenarioFiles, MissingPathsAreInputErrorsAllReported) {
  TempDir dir;
  try {
    collect_scenario_files({dir.path() + "/nope.json", dir.path() + "/missing-dir"});
    ADD_FAILURE() << "no exception";
  } catch (const ScenarioError& e) {
    ASSERT_EQ(e.issues().size(), 2u);
    EXPECT_EQ(e.issues()[0].file, dir.path() + "/nope.json");
    EXPECT_NE(e.issues()[0].message.find("no such file or folder"), std::string::npos);
  }
}

TEST(ScenarioFiles, LoadFileReportsFileAndLine) {
  TempDir dir;
  auto good = dir.write("good.json", "// a comment\n{ \"name\": \"good\", \"deadline\": \"5s\" }\n");
  Scenario s = load_scenario_file(good);
  EXPECT_EQ(s.name, "good");
  EXPECT_EQ(s.file, good);
  EXPECT_EQ(s.lines.at("/deadline"), 2);
  auto bad = dir.write("bad.json", "{\n  \"name\": \"bad\",\n  \"repeat\": \"3\"\n}\n");
  try {
    load_scenario_file(bad);
    ADD_FAILURE() << "no exception";
  } catch (const ScenarioError& e) {
    ASSERT_EQ(e.issues().size(), 1u);
    EXPECT_EQ(e.issues()[0].str(), bad + ":3: /repeat: expected a whole number from 1 to 1000; got the string \"3\" — write 3 without quotes");
  }
  EXPECT_THROW(load_scenario_file(dir.path() + "/absent.json"), ScenarioError);
}

}  // namespace
}  // namespace sockchaos::harness
