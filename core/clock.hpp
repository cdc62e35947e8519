// Monotonic time for timers and rates.
#pragma once

#include <chrono>

namespace sluice::core {

using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using Millis = std::chrono::milliseconds;

[[nodiscard]] inline TimePoint now() noexcept {
    return Clock::now();
}

[[nodiscard]] inline Clock::duration seconds(double s) noexcept {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

[[nodiscard]] inline double elapsed_seconds(TimePoint since, TimePoint until = now()) noexcept {
    return std::chrono::duration<double>(until - since).count();
}

// Fires once per interval; an interval of 0 never fires.
class Ticker {
public:
    explicit Ticker(double interval_seconds)
        : m_interval(seconds(interval_seconds)), m_next(now() + m_interval) {}
    [[nodiscard]] bool due(TimePoint t = now()) {
        if (m_interval.count() <= 0 || t < m_next) return false;
        m_next = t + m_interval;
        return true;
    }

private:
    Clock::duration m_interval;
    TimePoint m_next;
};

} // namespace sluice::core
