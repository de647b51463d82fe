// The JSON type of every layer: nlohmann's, keeping keys in the order they were written (the
// results' key order is part of what users read).
#pragma once
#include <chrono>

#include <nlohmann/json.hpp>

namespace sockchaos {

using json = nlohmann::ordered_json;
using Nanos = std::chrono::nanoseconds;

}  // namespace sockchaos
