// The definition of a job (SPEC §4): set once on the ventilator and shipped to every worker, so a
// worker needs no configuration beyond where to connect.
#pragma once

#include "core/output_format.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sluice::core {

inline constexpr double k_default_offset = 20.0;
inline constexpr double k_default_scale = 60.0;
inline constexpr std::uint32_t k_default_window = 50;
inline constexpr std::uint32_t k_max_window = 100000;
// Memory a worker may keep for windows between tasks, by default (MiB; --worker-window-memory).
inline constexpr std::uint32_t k_default_worker_window_mib = 256;

struct Calibration {
    double offset = k_default_offset;
    double scale = k_default_scale;
};

// Hashes std::string and std::string_view alike, so lookups by view need no allocation.
struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept {
        return std::hash<std::string_view>{}(s);
    }
};

using CalibrationTable = std::unordered_map<std::string, Calibration, StringHash, std::equal_to<>>;

struct JobConfig {
    std::uint32_t window = k_default_window; // W: values per rolling window, >= 1
    std::uint32_t heavy = 0;                 // K: iterations of the heavy transform, 0 = off
    OutputFormat format = OutputFormat::jsonl;
    CalibrationTable calibration; // sensors not listed use the defaults
    // The most sensors whose windows a worker keeps from one task to the next (0 = no limit). The
    // ventilator and the worker apply the same rule to it (WindowCache::apply), so the ventilator
    // knows which windows a worker still holds without being told.
    std::uint64_t kept_windows = 0;

    [[nodiscard]] Calibration calibration_for(std::string_view sensor_id) const {
        if (calibration.empty()) return Calibration{}; // the usual case: no hashing for nothing
        const auto it = calibration.find(sensor_id);
        return it == calibration.end() ? Calibration{} : it->second;
    }
};

// How many sensors' windows of W values fit in `mib` MiB of a worker's memory (at least one):
// each costs a buffer of 2·W doubles and ~160 bytes of bookkeeping.
[[nodiscard]] std::uint64_t kept_windows_for(std::uint64_t mib, std::uint32_t window) noexcept;

// Reads a calibration CSV (header sensorId,offset,scale in any order; extra columns ignored).
// Throws std::runtime_error naming the file and line on a bad line, a duplicate sensor or scale 0.
[[nodiscard]] CalibrationTable load_calibration(const std::string& path);

} // namespace sluice::core
