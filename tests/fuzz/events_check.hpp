// The agent event parser's contract on arbitrary bytes (one stdout line of an agent), shared
// by the libFuzzer target (fuzz_events.cpp) and the corpus regression unit test:
//   - parse_agent_event never throws and never crashes, whatever the line;
//   - a refused line gives a one-line message, valid UTF-8, that JSON can carry (it becomes the
//     cell's error_detail in results.json);
//   - an accepted line is written back by format_agent_event as one line that parses to the
//     same event (the agent writes what the orchestrator reads).
// check_event_input returns "" when all of that holds, else what broke.
#pragma once
#include <string>
#include <string_view>
#include <typeinfo>

#include "harness/protocol/events.hpp"
#include "tests/fuzz/scenario_check.hpp"

namespace sockchaos::fuzz {

inline std::string check_event_input(std::string_view line) {
  using namespace harness;
  try {
    auto parsed = parse_agent_event(line);
    if (!parsed.ok()) {
      const std::string message = parsed.error().str();
      if (message.empty()) return "parse_agent_event: an error without a message";
      if (!valid_utf8(message)) return "parse_agent_event: the error message is not valid UTF-8";
      if (message.find('\n') != std::string::npos) return "parse_agent_event: the error message spans lines";
      if (message.size() > 4096) return "parse_agent_event: an error message of " + std::to_string(message.size()) + " bytes";
      (void)json(message).dump();  // what results.json does with it (throws on invalid UTF-8)
      return "";
    }
    const std::string again_line = format_agent_event(*parsed);
    if (again_line.empty() || again_line.back() != '\n' || again_line.find('\n') != again_line.size() - 1)
      return "format_agent_event: not one line ending in a newline";
    auto again = parse_agent_event(std::string_view(again_line).substr(0, again_line.size() - 1));
    if (!again.ok()) return "parse_agent_event refuses what format_agent_event wrote: " + again.error().str();
    if (to_json(*again) != to_json(*parsed)) return "format + parse changed the event";
    return "";
  } catch (const std::exception& e) {
    return std::string("threw ") + typeid(e).name() + ": " + e.what();
  } catch (...) {
    return "threw a non-std exception";
  }
}

}  // namespace sockchaos::fuzz
