// libFuzzer target: arbitrary bytes as one line of an agent's stdout. The contract
// is in events_check.hpp; a broken one aborts, so libFuzzer keeps the input.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/events_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string finding = sockchaos::fuzz::check_event_input(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!finding.empty()) {
    std::fprintf(stderr, "fuzz_events: %s\n", finding.c_str());
    std::abort();
  }
  return 0;
}
