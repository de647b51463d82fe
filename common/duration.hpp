// Durations and rates as scenario files write them: "250ms", "3s", "1.5s", "2m", "2h" (also
// "us"); "100KiB/s", "1MiB/s", "500B/s", "10kB/s". A bare number is an error whose message
// suggests the unit form.
#pragma once
#include <optional>
#include <string>

#include "common/json.hpp"

namespace sockchaos {

// std::nullopt (and *why filled) when the text is not a duration.
std::optional<Nanos> parse_duration(const std::string& text, std::string* why = nullptr);
std::string format_duration(Nanos d);  // shortest exact form: "1.5s", "250ms", "2m"

// Bytes per second.
std::optional<double> parse_byte_rate(const std::string& text, std::string* why = nullptr);

// A size in bytes: "64KiB", "4MiB", "1500B", "10kB" (whole bytes).
std::optional<int64_t> parse_byte_size(const std::string& text, std::string* why = nullptr);

}  // namespace sockchaos
