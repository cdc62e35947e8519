// The feature kernels of SPEC §4. Pure functions of their inputs: no sockets, no files, no state
// beyond a batch. Window statistics are exact at batch boundaries because every batch arrives with
// the last W-1 values of each of its sensors (History).
#pragma once

#include "core/codec.hpp"
#include "core/job.hpp"
#include "core/record.hpp"

#include <span>
#include <utility>
#include <vector>

namespace sluice::core {

// v = value, then K times v = sin(v)·cos(v) + ln(|v| + 1).
[[nodiscard]] double heavy_transform(double value, std::uint32_t iterations) noexcept;

// heavy_transform of two values at once, bit for bit what it gives for each alone: two
// independent chains in one loop, so that the CPU overlaps the latency of one chain's sin, cos and
// log with the other's. compute_features pairs a batch's readings up this way.
[[nodiscard]] std::pair<double, double> heavy_transform_pair(double a, double b,
                                                             std::uint32_t iterations) noexcept;

// Statistics of one window of values (oldest first); `values` must not be empty. When every value
// is equal the mean is that value and the standard deviation exactly 0.
struct WindowStats {
    double mean = 0.0;
    double std = 0.0;
    double min = 0.0;
    double max = 0.0;
};
[[nodiscard]] WindowStats window_stats(std::span<const double> values) noexcept;

// window_stats runs an AVX2 build of itself where the CPU has AVX2, with the same results bit for
// bit (workers on different hosts must agree: SPEC §3). Exposed for the test of that.
#if defined(__x86_64__) && defined(__GNUC__)
#define SLUICE_WINDOW_STATS_AVX2 1
#else
#define SLUICE_WINDOW_STATS_AVX2 0
#endif
namespace detail {
[[nodiscard]] WindowStats window_stats_baseline(std::span<const double> values) noexcept;
#if SLUICE_WINDOW_STATS_AVX2
[[nodiscard]] WindowStats window_stats_avx2(std::span<const double> values) noexcept;
[[nodiscard]] bool cpu_has_avx2() noexcept;
#endif
} // namespace detail

// A fixed-capacity ring of the most recent values of one sensor, kept contiguous so statistics
// read one span: values live in [m_begin, m_begin + size) of a buffer twice the capacity.
class SensorWindow {
public:
    explicit SensorWindow(std::size_t capacity) : m_capacity(capacity), m_buffer(2 * capacity) {}
    void push(double v) noexcept;
    // Replaces the contents with the last `capacity` of `values` (all of them if fewer).
    void assign(std::span<const double> values) noexcept;
    [[nodiscard]] std::size_t capacity() const noexcept { return m_capacity; }
    [[nodiscard]] std::span<const double> values() const noexcept {
        return {m_buffer.data() + m_begin, m_size};
    }
    [[nodiscard]] std::size_t size() const noexcept { return m_size; }

private:
    std::size_t m_capacity;
    std::vector<double> m_buffer;
    std::size_t m_begin = 0;
    std::size_t m_size = 0;
};

// Computes the features of every reading of a batch, in order. `history` holds, for each sensor
// of the batch, up to W-1 values that precede the batch in the order. `out` is resized to match.
// The result depends on its arguments alone; the windows' memory is kept per thread from one call
// to the next, so a steady stream of batches allocates nothing.
void compute_features(const JobConfig& config, std::span<const ReadingView> readings,
                      const History& history, std::vector<Features>& out);

} // namespace sluice::core
