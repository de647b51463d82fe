// `sockchaos advise` and `sockchaos audit` end to end through the CLI: the advisor's options
// verified by its own cells, then applied in scenarios written independently of the advisor (a
// different fault phase, rate and zero-window shape), its C and Python snippets compiled into
// real client programs run as user commands, and curl audited across failure modes.
#include <sys/wait.h>

#include <nlohmann/json.hpp>

#include "support.hpp"

using nlohmann::json;
using sockchaos::testing::read_text;
using sockchaos::testing::sh;
using sockchaos::testing::write_text;

namespace {

struct CliRun {
  int status = -1;
  std::string out;
};

CliRun cli(const std::string& args) {
  CliRun r;
  r.out = sh(std::string(SOCKCHAOS_CLI) + " " + args + " 2>/dev/null", &r.status);
  return r;
}

json parse(const std::string& text) {
  json j = json::parse(text, nullptr, false);
  return j;
}

struct TempDir {
  std::filesystem::path path = sockchaos::testing::make_temp_dir("advise");
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

// The within-8s advice, computed once (its verification runs 3 cells in parallel).
const CliRun& advice_8s() {
  static const CliRun r = cli("advise --within 8s --modes idle,busy,zero-window --format json");
  return r;
}

}  // namespace

TEST(AdviseCli, EightSecondsVerifiesItself) {
  SKIP_UNLESS_ABLE();
  const auto& r = advice_8s();
  const json j = parse(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(r.status, 0) << j.dump(2);
  ASSERT_TRUE(j["options"].contains("keepalive")) << j["options"].dump();
  ASSERT_TRUE(j["options"].contains("tcp_user_timeout")) << j["options"].dump();
  ASSERT_EQ(j["verified"].size(), 3u) << j.dump(2);
  for (const auto& v : j["verified"]) {
    EXPECT_TRUE(v["within"].get<bool>()) << v.dump();
    ASSERT_TRUE(v["detection_ms"].is_number()) << v.dump();
    EXPECT_LE(v["detection_ms"].get<double>(), 8000) << v.dump();
    EXPECT_EQ(v["error"], "ETIMEDOUT") << v.dump();
  }
  for (const char* k : {"c", "go", "java", "python", "envoy", "sysctl"}) EXPECT_TRUE(j["snippets"].contains(k));
}

// The same options in scenarios the advisor did not write: the idle fault right after the first
// keepalive probe was answered (the worst phase), a faster stream, and a server that never reads
// (stall) instead of a paused one.
TEST(AdviseCli, EightSecondOptionsHoldInAnIndependentScenario) {
  SKIP_UNLESS_ABLE();
  const json advice = parse(advice_8s().out);
  ASSERT_FALSE(advice.is_discarded());
  const json options = advice["options"];
  const std::string idle = options["keepalive"]["idle"].get<std::string>();
  const int idle_s = std::stoi(idle);
  TempDir dir;
  const std::string worst_phase = std::to_string(idle_s * 1000 + 100) + "ms";
  json scenarios[] = {
      {{"name", "advised-idle"},
       {"server", {{"on", "server"}, {"port", 7100}, {"behavior", "echo"}}},
       {"client", {{"on", "client"}, {"connect", "server:7100"}, {"workload", {{"kind", "idle"}}}, {"socket", options}}},
       {"faults", {{{"kind", "blackhole"}, {"on", "server"}, {"at", worst_phase}}}},
       {"deadline", "16s"},
       {"expect", {{{"detected_within", "8s"}, {"error", "ETIMEDOUT"}}}}},
      {{"name", "advised-busy"},
       {"server", {{"on", "server"}, {"port", 7200}, {"behavior", "sink"}}},
       {"client",
        {{"on", "client"}, {"connect", "server:7200"}, {"workload", {{"kind", "stream"}, {"rate", "1MiB/s"}}},
         {"socket", options}}},
       {"faults", {{{"kind", "blackhole"}, {"on", "server"}, {"at", "1s"}}}},
       {"deadline", "12s"},
       {"expect", {{{"detected_within", "8s"}, {"error", "ETIMEDOUT"}}}}},
      {{"name", "advised-zero-window"},
       {"server", {{"on", "server"}, {"port", 7300}, {"behavior", "stall"}}},
       {"client",
        {{"on", "client"}, {"connect", "server:7300"}, {"workload", {{"kind", "stream"}, {"rate", "10MiB/s"}}},
         {"socket", options}}},
       {"faults", json::array()},
       {"deadline", "12s"},
       {"expect", {{{"detected_within", "8s"}, {"error", "ETIMEDOUT"}}}}},
  };
  for (const auto& s : scenarios) write_text(dir.path / (s["name"].get<std::string>() + ".json"), s.dump(2));
  int status = -1;
  const std::string out = sh(std::string(SOCKCHAOS_CLI) + " run " + dir.path.string() + " -o " +
                                 (dir.path / "out").string() + " 2>&1",
                             &status);
  EXPECT_EQ(status, 0) << out;
  const json results = parse(read_text(dir.path / "out" / "results.json"));
  ASSERT_FALSE(results.is_discarded()) << out;
  ASSERT_EQ(results["scenarios"].size(), 3u);
  for (const auto& s : results["scenarios"])
    for (const auto& c : s["cells"])
      for (const auto& run : c["runs"]) {
        ASSERT_TRUE(run["detection_ms"].is_number()) << s["name"] << ": " << run.dump().substr(0, 400);
        EXPECT_LE(run["detection_ms"].get<double>(), 8000) << s["name"];
      }
}

TEST(AdviseCli, UnknownModesAndKeysExitTwo) {
  EXPECT_EQ(cli("advise --within 8s --modes idle,sideways --no-verify").status, 2);
  EXPECT_EQ(cli("advise --within 8s --keep keepalive.colour=3 --no-verify").status, 2);
  EXPECT_EQ(cli("advise --within soon --no-verify").status, 2);
  EXPECT_EQ(cli("audit --modes wobble -- true").status, 2);
}

TEST(AdviseCli, ImpossibleBoundSaysSoAndGivesTheBest) {
  const auto r = cli("advise --within 100ms --modes syn-sent --no-verify --format json");
  EXPECT_EQ(r.status, 4);
  const json j = parse(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_FALSE(j["achievable"].get<bool>());
  ASSERT_EQ(j["model"].size(), 1u);
  EXPECT_GE(j["model"][0]["best_achievable_ms"].get<double>(), 1000);
  EXPECT_NE(j["model"][0]["reason"].get<std::string>().find("TCP_TIMEOUT_INIT"), std::string::npos);
}

// ---- the snippets as real programs ----------------------------------------------------------

namespace {

const char* kCMain = R"(
#include <errno.h>
#include <netdb.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
  if (argc != 4) return 2;
  struct addrinfo hints, *res;
  memset(&hints, 0, sizeof hints);
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(argv[1], argv[2], &hints, &res) != 0) return 2;
  int fd = socket(res->ai_family, SOCK_STREAM, 0);
  if (fd < 0 || sockchaos_apply(fd) != 0) return 3;
  if (connect(fd, res->ai_addr, res->ai_addrlen) != 0) return errno;
  static char buf[4096];
  if (strcmp(argv[3], "idle") == 0) {
    for (int i = 0; i < 1000000; ++i) {
      ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0) return errno;
      if (n == 0) return 4;
    }
    return 5;
  }
  for (int i = 0; i < 6000; ++i) { /* at most 60 s at 400 KiB/s */
    if (write(fd, buf, sizeof buf) < 0) return errno;
    usleep(10000);
  }
  return 5;
}
)";

const char* kPythonMain = R"(
import sys
host, port, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = sockchaos_apply(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
try:
    s.connect((host, port))
    if mode == "idle":
        while True:
            if not s.recv(4096):
                sys.exit(4)
    for _ in range(6000):  # at most 60 s at 400 KiB/s
        s.send(b"x" * 4096)
        time.sleep(0.01)
except OSError as e:
    sys.exit(e.errno)
sys.exit(5)
)";

// A scenario with the program as the client, for one mode; the bound and ETIMEDOUT (110) expected.
json program_scenario(const std::string& name, const std::vector<std::string>& argv_head, const std::string& mode,
                      int port) {
  std::vector<std::string> argv = argv_head;
  argv.insert(argv.end(), {"{server}", "{port}", mode});
  return {{"name", name},
          {"server", {{"on", "server"}, {"port", port}, {"behavior", mode == "idle" ? "echo" : "sink"}}},
          {"client", {{"on", "client"}, {"connect", "server:" + std::to_string(port)},
                      {"workload", {{"kind", "command"}, {"command", argv}}}}},
          {"faults", {{{"kind", "blackhole"}, {"on", "server"}, {"at", "1s"}}}},
          {"deadline", "8s"},
          {"expect", {{{"detected_within", "3s"}, {"error", "exit:110"}}}}};
}

}  // namespace

TEST(AdviseSnippets, CAndPythonSnippetsDetectWithinTheBound) {
  SKIP_UNLESS_ABLE();
  const auto r = cli("advise --within 3s --modes idle,busy --no-verify --format json");
  ASSERT_EQ(r.status, 0) << r.out;
  const json j = parse(r.out);
  ASSERT_FALSE(j.is_discarded());
  TempDir dir;
  write_text(dir.path / "client.c", j["snippets"]["c"].get<std::string>() + kCMain);
  int status = -1;
  const std::string cc = sh("gcc -O1 -Wall -o " + (dir.path / "client").string() + " " +
                                (dir.path / "client.c").string() + " 2>&1",
                            &status);
  ASSERT_EQ(status, 0) << cc;
  write_text(dir.path / "client.py",
             j["snippets"]["python"].get<std::string>() + "\nimport time\n" + kPythonMain);
  const std::string c_bin = (dir.path / "client").string(), py = (dir.path / "client.py").string();
  int port = 7400;
  for (const std::string mode : {"idle", "busy"}) {
    write_text(dir.path / ("c-" + mode + ".json"),
               program_scenario("snippet-c-" + mode, {c_bin}, mode, port++).dump(2));
    write_text(dir.path / ("py-" + mode + ".json"),
               program_scenario("snippet-python-" + mode, {"/usr/bin/python3", py}, mode, port++).dump(2));
  }
  const std::string out = sh(std::string(SOCKCHAOS_CLI) + " run " + dir.path.string() + " -o " +
                                 (dir.path / "out").string() + " 2>&1",
                             &status);
  EXPECT_EQ(status, 0) << out;
  const json results = parse(read_text(dir.path / "out" / "results.json"));
  ASSERT_FALSE(results.is_discarded()) << out;
  EXPECT_EQ(results["scenarios"].size(), 4u);
  for (const auto& s : results["scenarios"])
    for (const auto& c : s["cells"])
      for (const auto& run : c["runs"]) {
        ASSERT_TRUE(run["detection_ms"].is_number()) << s["name"] << run.dump().substr(0, 600);
        EXPECT_LE(run["detection_ms"].get<double>(), 3000) << s["name"];
        EXPECT_EQ(run["error"], "exit:110") << s["name"];  // ETIMEDOUT
      }
}

// ---- audit ----------------------------------------------------------------------------------

TEST(AuditCli, CurlWithMaxTimeNoticesEveryModeItsOwnWay) {
  SKIP_UNLESS_ABLE();
  if (sh("command -v curl").empty()) GTEST_SKIP() << "curl is not installed (Debian package curl)";
  const auto r = cli("audit --within 3s --modes idle,syn-sent,rst,crash --format json -- "
                     "curl -sS -o /dev/null --max-time 2 http://{server}:{port}/");
  const json j = parse(r.out);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(r.status, 0) << j.dump(2);
  ASSERT_EQ(j["modes"].size(), 4u);
  for (const auto& m : j["modes"]) {
    EXPECT_TRUE(m["ran"].get<bool>()) << m.dump();
    EXPECT_TRUE(m["noticed"].get<bool>()) << m.dump();
    // curl(1): exit 28, operation timed out, at --max-time 2 s after it started; the faults of
    // the established modes come 1 s after the start, syn-sent's before it.
    EXPECT_EQ(m["status"].get<std::string>().rfind("exit 28", 0), 0u) << m.dump();
    const double expected = m["mode"] == "syn-sent" ? 2000 : 1000;
    EXPECT_GE(m["detection_ms"].get<double>(), expected - 100) << m.dump();
    EXPECT_LE(m["detection_ms"].get<double>(), expected + 500) << m.dump();
  }
}

TEST(AuditCli, CurlWithoutTimeoutsMissesTheIdlePeerAndGetsASuggestion) {
  SKIP_UNLESS_ABLE();
  if (sh("command -v curl").empty()) GTEST_SKIP() << "curl is not installed (Debian package curl)";
  int status = -1;
  const std::string text = sh(std::string(SOCKCHAOS_CLI) +
                                  " audit --within 3s --modes idle,syn-sent,port-exhaustion -- curl -sS -o /dev/null "
                                  "http://{server}:{port}/ 2>/dev/null",
                              &status);
  EXPECT_EQ(status, 1) << text;  // a mode was missed
  EXPECT_NE(text.find("mode"), std::string::npos) << text;
  EXPECT_NE(text.find("idle"), std::string::npos) << text;
  EXPECT_NE(text.find("never"), std::string::npos) << text;
  EXPECT_NE(text.find("tcp_user_timeout"), std::string::npos) << text;  // the advisor's suggestion
  EXPECT_NE(text.find("port-exhaustion"), std::string::npos) << text;
}

namespace {

const char* kGoMain = R"(
func main() {
	if len(os.Args) != 4 {
		os.Exit(2)
	}
	conn, err := sockchaosDialer.Dial("tcp", net.JoinHostPort(os.Args[1], os.Args[2]))
	exit := func(err error) {
		var errno syscall.Errno
		if errors.As(err, &errno) {
			os.Exit(int(errno))
		}
		os.Exit(3)
	}
	if err != nil {
		exit(err)
	}
	buf := make([]byte, 4096)
	if os.Args[3] == "idle" {
		for i := 0; i < 1000000; i++ {
			n, err := conn.Read(buf)
			if err != nil {
				exit(err)
			}
			if n == 0 {
				os.Exit(4)
			}
		}
		os.Exit(5)
	}
	for i := 0; i < 6000; i++ { // at most 60 s at 400 KiB/s
		if _, err := conn.Write(buf); err != nil {
			exit(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	os.Exit(5)
}
)";

}  // namespace

// Go only where a Go toolchain is installed (Debian golang-go); a stdlib-only program, built offline.
TEST(AdviseSnippets, GoSnippetDetectsWithinTheBound) {
  SKIP_UNLESS_ABLE();
  if (sh("command -v go").empty()) GTEST_SKIP() << "no Go toolchain (Debian package golang-go)";
  const auto r = cli("advise --within 3s --modes idle,busy --no-verify --format json");
  ASSERT_EQ(r.status, 0) << r.out;
  const json j = parse(r.out);
  ASSERT_FALSE(j.is_discarded());
  TempDir dir;
  write_text(dir.path / "main.go", "package main\n\nimport (\n\t\"errors\"\n\t\"net\"\n\t\"os\"\n\t\"syscall\"\n\t\"time\"\n)\n\n" +
                                       j["snippets"]["go"].get<std::string>() + kGoMain);
  int status = -1;
  const std::string build = sh("cd " + dir.path.string() + " && GOCACHE=" + (dir.path / "gocache").string() +
                                   " GOFLAGS=-mod=mod GO111MODULE=off GOPATH=" + (dir.path / "gopath").string() +
                                   " go build -o client main.go 2>&1",
                               &status);
  ASSERT_EQ(status, 0) << build;
  const std::string bin = (dir.path / "client").string();
  int port = 7500;
  for (const std::string mode : {"idle", "busy"})
    write_text(dir.path / ("go-" + mode + ".json"), program_scenario("snippet-go-" + mode, {bin}, mode, port++).dump(2));
  const std::string out = sh(std::string(SOCKCHAOS_CLI) + " run " + dir.path.string() + " -o " +
                                 (dir.path / "out").string() + " 2>&1",
                             &status);
  EXPECT_EQ(status, 0) << out;
  const json results = parse(read_text(dir.path / "out" / "results.json"));
  ASSERT_FALSE(results.is_discarded()) << out;
  for (const auto& s : results["scenarios"])
    for (const auto& c : s["cells"])
      for (const auto& run : c["runs"]) {
        ASSERT_TRUE(run["detection_ms"].is_number()) << s["name"] << run.dump().substr(0, 600);
        EXPECT_LE(run["detection_ms"].get<double>(), 3000) << s["name"];
        EXPECT_EQ(run["error"], "exit:110") << s["name"];
      }
}
