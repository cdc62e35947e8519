#include "core/features.hpp"

#include <algorithm>
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

WindowStats window_stats(std::span<const double> values) noexcept {
    WindowStats s;
    s.min = values.front();
    s.max = values.front();
    // Neumaier summation: the mean stays accurate when large values of opposite sign cancel.
    double sum = 0.0;
    double compensation = 0.0;
    for (const double v : values) {
        s.min = std::min(s.min, v);
        s.max = std::max(s.max, v);
        const double t = sum + v;
        compensation += std::abs(sum) >= std::abs(v) ? (sum - t) + v : (v - t) + sum;
        sum = t;
    }
    if (s.min == s.max) {
        // A constant window: the mean is the value itself and the deviation exactly zero, which
        // rounding in sum/n would not guarantee.
        s.mean = s.min;
        return s;
    }
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
    double squares = 0.0;
    if (scale == 1.0) { // the common case, without a division per value (x / 1.0 is x exactly)
        for (const double v : values) {
            const double d = v - s.mean;
            squares += d * d;
        }
    } else {
        for (const double v : values) {
            const double d = (v - s.mean) / scale;
            squares += d * d;
        }
    }
    s.std = scale * std::sqrt(squares / n);
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
