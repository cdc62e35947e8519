// Records: the reading that enters Sluice and the features that leave it (SPEC §2, §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::core {

inline constexpr std::size_t k_max_sensor_id_bytes = 256;
inline constexpr std::size_t k_max_unit_bytes = 32;

// One sensor reading. Owns its strings; see ReadingView for the zero-copy form used on hot paths.
struct Reading {
    std::string sensor_id;
    double timestamp = 0.0;
    double value = 0.0;
    std::string unit;
};

// A reading whose strings point into a buffer the caller keeps alive (a received message).
struct ReadingView {
    std::string_view sensor_id;
    double timestamp = 0.0;
    double value = 0.0;
    std::string_view unit;
};

// The features of one reading, in the order of SPEC §4's table.
struct Features {
    double normalized = 0.0;
    double feature = 0.0;
    std::uint32_t window_count = 0;
    double window_mean = 0.0;
    double window_std = 0.0;
    double window_min = 0.0;
    double window_max = 0.0;
    double zscore = 0.0;
    double heavy = 0.0; // meaningful only when the job has --heavy K > 0
};

// Why a reading was refused; every value has a message (reason_text) for dead letters.
enum class Invalid : std::uint8_t {
    none,
    empty_sensor_id,
    sensor_id_too_long,
    sensor_id_not_utf8,
    unit_too_long,
    unit_not_utf8,
    timestamp_not_finite,
    value_not_finite,
};

// Checks a reading against SPEC §2. Returns Invalid::none when it is acceptable.
[[nodiscard]] Invalid validate(std::string_view sensor_id, double timestamp, double value,
                               std::string_view unit) noexcept;

// A short human-readable reason, e.g. "value is not finite".
[[nodiscard]] std::string_view reason_text(Invalid why) noexcept;

// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view s) noexcept;

} // namespace sluice::core
