#include "core/features.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <unordered_map>

namespace sluice::core {

double heavy_transform(double value, std::uint32_t iterations) noexcept {
    double v = value;
    for (std::uint32_t i = 0; i < iterations; ++i)
        v = std::sin(v) * std::cos(v) + std::log(std::abs(v) + 1.0);
    return v;
}

namespace {

// Knuth's TwoSum: adds v to sum and the rounding error of that addition, which it computes
// exactly whatever the magnitudes, to compensation. The same error as Neumaier's form, without
// its branch on which operand is larger.
inline void add_compensated(double& sum, double& compensation, double v) noexcept {
    const double t = sum + v;
    const double v_part = t - sum;
    compensation += (sum - (t - v_part)) + (v - v_part);
    sum = t;
}

// Sums over a window run in independent lanes (value i in lane i % k_lanes), so the CPU overlaps
// their chains of dependent additions instead of waiting on one. Which value goes to which lane,
// and the order the lanes are combined in, depend only on the window, so the results do too.
constexpr std::size_t k_lanes = 4;

// Calls step(lane, value) for each value: full groups of k_lanes in an unrolled loop, then the
// rest.
template <class Step>
inline void for_each_in_lanes(std::span<const double> values, Step&& step) noexcept {
    std::size_t i = 0;
    for (; i + k_lanes <= values.size(); i += k_lanes) {
        for (std::size_t lane = 0; lane < k_lanes; ++lane) step(lane, values[i + lane]);
    }
    for (std::size_t lane = 0; i < values.size(); ++i, ++lane) step(lane, values[i]);
}

} // namespace

WindowStats window_stats(std::span<const double> values) noexcept {
    WindowStats s;
    // Compensated summation: the mean stays accurate when large values of opposite sign cancel.
    std::array<double, k_lanes> sums{};
    std::array<double, k_lanes> compensations{};
    std::array<double, k_lanes> lows;
    std::array<double, k_lanes> highs;
    lows.fill(values.front());
    highs.fill(values.front());
    // Two passes, so that each loop's accumulators fit in the CPU's registers.
    for_each_in_lanes(values, [&](std::size_t lane, double v) {
        lows[lane] = std::min(lows[lane], v);
        highs[lane] = std::max(highs[lane], v);
    });
    for_each_in_lanes(values, [&](std::size_t lane, double v) {
        add_compensated(sums[lane], compensations[lane], v);
    });
    s.min = std::min(std::min(lows[0], lows[1]), std::min(lows[2], lows[3]));
    s.max = std::max(std::max(highs[0], highs[1]), std::max(highs[2], highs[3]));
    if (s.min == s.max) {
        // A constant window: the mean is the value itself and the deviation exactly zero, which
        // rounding in sum/n would not guarantee.
        s.mean = s.min;
        return s;
    }
    double sum = sums[0];
    double compensation =
        (compensations[0] + compensations[1]) + (compensations[2] + compensations[3]);
    for (std::size_t lane = 1; lane < k_lanes; ++lane)
        add_compensated(sum, compensation, sums[lane]);
    const auto n = static_cast<double>(values.size());
    s.mean = (sum + compensation) / n;
    if (!std::isfinite(s.mean)) {
        // The sum overflowed; divide first (values are finite, so each term is).
        double scaled = 0.0;
        for (const double v : values) scaled += v / n;
        s.mean = scaled;
    }
    // Deviations beyond ~1e154 would overflow when squared: scale them by the largest first.
    const double largest = std::max(std::abs(s.max - s.mean), std::abs(s.min - s.mean));
    const double scale = largest > 1e150 ? largest : 1.0;
    std::array<double, k_lanes> squares{};
    if (scale == 1.0) { // the common case, without a division per value (x / 1.0 is x exactly)
        for_each_in_lanes(values, [&](std::size_t lane, double v) {
            const double d = v - s.mean;
            squares[lane] += d * d;
        });
    } else {
        for_each_in_lanes(values, [&](std::size_t lane, double v) {
            const double d = (v - s.mean) / scale;
            squares[lane] += d * d;
        });
    }
    s.std = scale * std::sqrt(((squares[0] + squares[1]) + (squares[2] + squares[3])) / n);
    return s;
}

void SensorWindow::push(double v) noexcept {
    if (m_capacity == 0) return; // a window of nothing keeps nothing
    if (m_size < m_capacity) {
        m_buffer[m_begin + m_size++] = v;
        return;
    }
    if (m_begin + m_size == m_buffer.size()) {
        std::memmove(m_buffer.data(), m_buffer.data() + m_begin + 1, (m_size - 1) * sizeof(double));
        m_begin = 0;
    } else {
        ++m_begin;
    }
    m_buffer[m_begin + m_size - 1] = v;
}

void compute_features(const JobConfig& config, std::span<const ReadingView> readings,
                      const History& history, std::vector<Features>& out) {
    const std::size_t window = std::max<std::uint32_t>(config.window, 1);
    std::unordered_map<std::string_view, SensorWindow> windows;
    windows.reserve(history.entries.size());
    for (const auto& entry : history.entries) {
        auto& w = windows.try_emplace(entry.sensor_id, window).first->second;
        const std::size_t skip = entry.count >= window ? entry.count - (window - 1) : 0;
        for (std::size_t i = entry.first + skip; i < entry.first + entry.count; ++i) {
            w.push(history.values[i]);
        }
    }

    out.resize(readings.size());
    std::string_view last_sensor;
    SensorWindow* last_window = nullptr;
    Calibration cal;
    for (std::size_t i = 0; i < readings.size(); ++i) {
        const ReadingView& r = readings[i];
        // Consecutive readings often share a sensor; skip both lookups then.
        if (last_window == nullptr || r.sensor_id != last_sensor) {
            last_window = &windows.try_emplace(r.sensor_id, window).first->second;
            last_sensor = r.sensor_id;
            cal = config.calibration_for(r.sensor_id);
        }
        last_window->push(r.value);
        Features& f = out[i];
        f.normalized = (r.value - cal.offset) / cal.scale;
        f.feature = std::sqrt(std::abs(f.normalized)) * std::log(std::abs(r.value) + 1.0);
        const auto values = last_window->values();
        const WindowStats s = window_stats(values);
        f.window_count = static_cast<std::uint32_t>(values.size());
        f.window_mean = s.mean;
        f.window_std = s.std;
        f.window_min = s.min;
        f.window_max = s.max;
        f.zscore = s.std == 0.0 ? 0.0 : (r.value - s.mean) / s.std;
        f.heavy = config.heavy > 0 ? heavy_transform(r.value, config.heavy) : 0.0;
    }
}

} // namespace sluice::core
