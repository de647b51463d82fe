// libFuzzer target: arbitrary bytes as a results.json given to `sockchaos report`. The contract
// is in results_check.hpp; a broken one aborts, so libFuzzer keeps the input.
#include <cstdio>
#include <cstdlib>

#include "tests/fuzz/results_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string finding = sockchaos::fuzz::check_results_input(
      std::string_view(reinterpret_cast<const char*>(data), size));
  if (!finding.empty()) {
    std::fprintf(stderr, "fuzz_results: %s\n", finding.c_str());
    std::abort();
  }
  return 0;
}
