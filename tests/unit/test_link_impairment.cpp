// Link impairments as scenario keys (netns/linkemu/impairment.hpp): strict parsing, every
// invalid value named by its pointer with what was expected, and the round trip to JSON.
#include <gtest/gtest.h>

#include "netns/linkemu/impairment.hpp"

namespace sockchaos::linkemu {
namespace {

std::vector<ImpairmentProblem> problems_of(const std::string& text) {
  std::vector<ImpairmentProblem> out;
  auto imp = impairment_from_json(json::parse(text), &out);
  EXPECT_EQ(imp.has_value(), out.empty());
  return out;
}

const ImpairmentProblem* find(const std::vector<ImpairmentProblem>& v, const std::string& pointer) {
  for (const auto& p : v)
    if (p.pointer == pointer) return &p;
  return nullptr;
}

std::string dump(const std::vector<ImpairmentProblem>& v) {
  std::string s;
  for (const auto& p : v) s += p.pointer + ": " + p.message + "\n";
  return s;
}

TEST(LinkImpairment, ParsesTheContractKeys) {
  std::vector<ImpairmentProblem> problems;
  auto imp = impairment_from_json(json::parse(R"({
      "delay": "25ms", "jitter": "5ms", "distribution": "pareto", "duplicate": 0.001, "reorder": 0.01,
      "corrupt": 0.0001, "rate": "10Mbit", "queue": "64KiB", "mtu": 1400,
      "loss_model": {"gilbert_elliott": {"p": 0.01, "r": 0.3, "h": 0.1, "k": 0.999}} })"),
                                  &problems);
  ASSERT_TRUE(imp) << dump(problems);
  EXPECT_EQ(imp->delay, std::chrono::milliseconds(25));
  EXPECT_EQ(imp->jitter, std::chrono::milliseconds(5));
  EXPECT_EQ(imp->distribution, Distribution::kPareto);
  EXPECT_EQ(imp->duplicate, 0.001);
  EXPECT_EQ(imp->reorder, 0.01);
  EXPECT_EQ(imp->corrupt, 0.0001);
  EXPECT_EQ(imp->rate_bps, 10e6);
  EXPECT_EQ(imp->queue_bytes, 65536u);
  EXPECT_EQ(imp->mtu, 1400);
  ASSERT_TRUE(imp->gilbert_elliott);
  EXPECT_EQ(*imp->gilbert_elliott, (GilbertElliott{0.01, 0.3, 0.1, 0.999}));
  // Round trip.
  std::vector<ImpairmentProblem> again;
  auto back = impairment_from_json(to_json(*imp), &again);
  ASSERT_TRUE(back) << dump(again) << to_json(*imp).dump();
  EXPECT_EQ(*back, *imp);
}

TEST(LinkImpairment, GilbertElliottDefaultsAreTcs) {
  // tc-netem(8): "the others will be set to the default values r=1-p, 1-h=1 and 1-k=0".
  std::vector<ImpairmentProblem> problems;
  auto imp = impairment_from_json(json::parse(R"({"loss_model": {"gilbert_elliott": {"p": 0.2}}})"), &problems);
  ASSERT_TRUE(imp) << dump(problems);
  EXPECT_DOUBLE_EQ(imp->gilbert_elliott->r, 0.8);
  EXPECT_EQ(imp->gilbert_elliott->h, 0);
  EXPECT_EQ(imp->gilbert_elliott->k, 1);
  // Bernoulli special case: the loss rate is p.
  EXPECT_DOUBLE_EQ(imp->gilbert_elliott->stationary_loss(), 0.2);
}

TEST(LinkImpairment, DefaultsAreACleanLink) {
  auto imp = impairment_from_json(json::object(), nullptr);
  ASSERT_TRUE(imp);
  EXPECT_TRUE(imp->is_clean());
  EXPECT_EQ(imp->effective_mtu(), 1500);
  EXPECT_EQ(to_json(*imp), json::object());
}

TEST(LinkImpairment, EveryBadValueIsNamedWithWhatWasExpected) {
  auto p = problems_of(R"({"delay": 25, "jitter": "5", "loss": 5, "duplicate": "1%", "rate": "10", "queue": 64.5,
                           "mtu": 40, "distribution": "gauss", "color": "red"})");
  ASSERT_NE(find(p, "/delay"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/delay")->message.find("\"25ms\""), std::string::npos) << dump(p);
  ASSERT_NE(find(p, "/jitter"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/jitter")->message.find("unit"), std::string::npos) << dump(p);
  ASSERT_NE(find(p, "/loss"), nullptr);
  EXPECT_NE(find(p, "/loss")->message.find("write 0.05"), std::string::npos) << dump(p);
  ASSERT_NE(find(p, "/duplicate"), nullptr);
  EXPECT_NE(find(p, "/duplicate")->message.find("0.01"), std::string::npos) << dump(p);
  ASSERT_NE(find(p, "/rate"), nullptr);
  EXPECT_NE(find(p, "/rate")->message.find("10Mbit"), std::string::npos) << dump(p);
  EXPECT_NE(find(p, "/queue"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/mtu"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/distribution"), nullptr) << dump(p);
  ASSERT_NE(find(p, "/color"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/color")->message.find("unknown key"), std::string::npos);
}

TEST(LinkImpairment, AbsurdAndContradictoryValues) {
  auto p = problems_of(R"({"delay": "61s"})");
  ASSERT_NE(find(p, "/delay"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/delay")->message.find("at most 60s"), std::string::npos);
  p = problems_of(R"({"rate": "0bit"})");
  EXPECT_NE(find(p, "/rate"), nullptr) << dump(p);
  p = problems_of(R"({"rate": "500bit"})");
  EXPECT_NE(find(p, "/rate"), nullptr) << dump(p);
  p = problems_of(R"({"rate": "200Gbit"})");
  EXPECT_NE(find(p, "/rate"), nullptr) << dump(p);
  p = problems_of(R"({"rate": "10Mbps"})");
  ASSERT_NE(find(p, "/rate"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/rate")->message.find("ambiguous"), std::string::npos);
  p = problems_of(R"({"queue": "64KiB"})");
  ASSERT_NE(find(p, "/queue"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/queue")->message.find("rate"), std::string::npos);
  p = problems_of(R"({"rate": "1Mbit", "queue": "1000B"})");
  ASSERT_NE(find(p, "/queue"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/queue")->message.find("1514"), std::string::npos);
  p = problems_of(R"({"reorder": 0.1})");
  ASSERT_NE(find(p, "/reorder"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/reorder")->message.find("delay"), std::string::npos);
  p = problems_of(R"({"loss": 0.1, "loss_model": {"gilbert_elliott": {"p": 0.1}}})");
  EXPECT_NE(find(p, "/loss"), nullptr) << dump(p);
  p = problems_of(R"({"loss_model": {"gilbert_elliott": {"p": 1.5, "r": -1, "x": 0}}})");
  EXPECT_NE(find(p, "/loss_model/gilbert_elliott/p"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/loss_model/gilbert_elliott/r"), nullptr) << dump(p);
  EXPECT_NE(find(p, "/loss_model/gilbert_elliott/x"), nullptr) << dump(p);
  p = problems_of(R"({"loss_model": {"gilbert_elliott": {"r": 0.5}}})");
  EXPECT_NE(find(p, "/loss_model/gilbert_elliott/p"), nullptr) << dump(p);
  p = problems_of(R"({"loss_model": {"bernoulli": {}}})");
  EXPECT_NE(find(p, "/loss_model"), nullptr) << dump(p);
}

TEST(LinkImpairment, ValidateCatchesWhatCodeCanBuild) {
  Impairment imp;
  imp.delay = std::chrono::milliseconds(-1);
  imp.jitter = std::chrono::minutes(2);
  imp.loss = -0.1;
  imp.rate_bps = -5;
  imp.mtu = 70000;
  auto p = validate(imp);
  for (const char* ptr : {"/delay", "/jitter", "/loss", "/rate", "/mtu"})
    EXPECT_NE(find(p, ptr), nullptr) << ptr << "\n" << dump(p);
  EXPECT_TRUE(validate(Impairment{}).empty());
}

TEST(LinkImpairment, BitRatesAndSizes) {
  EXPECT_EQ(parse_bit_rate("10Mbit"), 10e6);
  EXPECT_EQ(parse_bit_rate("10mbit"), 10e6);
  EXPECT_EQ(parse_bit_rate("1.5Gbit"), 1.5e9);
  EXPECT_EQ(parse_bit_rate("64kbit/s"), 64e3);
  EXPECT_EQ(parse_bit_rate("800bit"), 800);
  std::string why;
  EXPECT_FALSE(parse_bit_rate("10", &why));
  EXPECT_NE(why.find("\"10Mbit\""), std::string::npos) << why;
  EXPECT_FALSE(parse_bit_rate("fast", &why));
  EXPECT_FALSE(parse_bit_rate("10MB", &why));
  EXPECT_EQ(format_bit_rate(10e6), "10Mbit");
  EXPECT_EQ(format_bit_rate(1.5e9), "1.5Gbit");
  EXPECT_EQ(format_bit_rate(64e3), "64kbit");
  EXPECT_EQ(parse_byte_size("64KiB"), 65536u);
  EXPECT_EQ(parse_byte_size("1MiB"), 1048576u);
  EXPECT_EQ(parse_byte_size("1500B"), 1500u);
  EXPECT_EQ(parse_byte_size("100kB"), 100000u);
  EXPECT_FALSE(parse_byte_size("64", &why));
  EXPECT_NE(why.find("\"64KiB\""), std::string::npos) << why;
  EXPECT_FALSE(parse_byte_size("64Kb", &why));
}

}  // namespace
}  // namespace sockchaos::linkemu
