// libFuzzer target: arbitrary bytes as a scenario file (parse, validate, load, expand cells).
// The contract is in scenario_check.hpp; a broken one aborts, so libFuzzer keeps the input.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/scenario_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string finding =
      sockchaos::fuzz::check_scenario_input(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!finding.empty()) {
    std::fprintf(stderr, "fuzz_scenario: %s\n", finding.c_str());
    std::abort();
  }
  return 0;
}
