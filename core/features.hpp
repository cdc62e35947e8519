// The feature kernels of SPEC §4: no sockets, no files. Window statistics are exact at batch
// boundaries because every batch arrives with what its sensors' windows need from before it
// (History): the whole last W-1 values, or what continues the windows a worker kept (WindowCache).
#pragma once

#include "core/codec.hpp"
#include "core/job.hpp"
#include "core/record.hpp"

#include <memory>
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

// The windows a worker keeps from one task to the next, each with the count of its sensor's
// readings it has seen in the order, so that a task's history need only hold what the worker has
// not seen (docs/PROTOCOL.md, "History"). The table and the windows' buffers are reused: a
// steady stream of batches allocates nothing.
class WindowCache {
public:
    WindowCache();
    ~WindowCache();
    WindowCache(const WindowCache&) = delete;
    WindowCache& operator=(const WindowCache&) = delete;

    // Forgets every window (a new job); memory is kept.
    void clear() noexcept;
    // Brings the windows of a batch's sensors to where the batch starts. An entry holding the
    // sensor's whole history (min(W-1, end) values) replaces its window; one that starts where
    // the window's count is continues it. Any other entry means the task was cut for windows this
    // cache does not hold: returns false with its index in `failed`, and the batch must not be
    // computed here (every window stays true to its count all the same).
    //
    // First, when config.kept_windows is set and the sensors held plus those of the batch not
    // held would exceed it, every window is dropped (drops() counts it): a worker's memory stays
    // bounded however many sensors a job has. The ventilator applies the same rule to what it
    // assumes a worker holds (ventilator::HistoryStore::encode), so that task carries whole
    // histories and nothing is refused.
    [[nodiscard]] bool apply(const JobConfig& config, const History& history, std::size_t& failed);
    // Computes the features of the batch's readings, in order, and moves the windows past them.
    // A sensor the last apply() did not name starts from an empty window (W > 1 always names one).
    void compute(const JobConfig& config, std::span<const ReadingView> readings,
                 std::vector<Features>& out);
    // Sensors whose windows are kept.
    [[nodiscard]] std::size_t sensors() const noexcept;
    // Times apply() dropped every window to keep to config.kept_windows.
    [[nodiscard]] std::uint64_t drops() const noexcept;

private:
    friend void compute_features(const JobConfig&, std::span<const ReadingView>, const History&,
                                 std::vector<Features>&);
    struct Table;
    std::unique_ptr<Table> m_table;
};

// Computes the features of every reading of a batch, in order, from nothing but its arguments:
// `history` holds, for each sensor of the batch, up to W-1 values that precede the batch in the
// order (a sensor named twice continues in turn). `out` is resized to match. The windows' memory
// is kept per thread from one call to the next.
void compute_features(const JobConfig& config, std::span<const ReadingView> readings,
                      const History& history, std::vector<Features>& out);

} // namespace sluice::core
