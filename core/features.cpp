#include "core/features.hpp"

#include "core/id_index.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#if SLUICE_WINDOW_STATS_AVX2
#include <immintrin.h>
#endif

namespace sluice::core {

double heavy_transform(double value, std::uint32_t iterations) noexcept {
    double v = value;
    for (std::uint32_t i = 0; i < iterations; ++i)
        v = std::sin(v) * std::cos(v) + std::log(std::abs(v) + 1.0);
    return v;
}

std::pair<double, double> heavy_transform_pair(double a, double b,
                                               std::uint32_t iterations) noexcept {
    for (std::uint32_t i = 0; i < iterations; ++i) {
        // Each chain is exactly heavy_transform's sequence of operations.
        const double log_a = std::log(std::abs(a) + 1.0);
        const double log_b = std::log(std::abs(b) + 1.0);
        a = std::sin(a) * std::cos(a) + log_a;
        b = std::sin(b) * std::cos(b) + log_b;
    }
    return {a, b};
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
using Lanes = std::array<double, k_lanes>;

inline void extremes_and_sum(Lanes& lows, Lanes& highs, Lanes& sums, Lanes& compensations,
                             std::size_t lane, double v) noexcept {
    lows[lane] = std::min(lows[lane], v);
    highs[lane] = std::max(highs[lane], v);
    add_compensated(sums[lane], compensations[lane], v);
}

// v - mean, divided by scale unless that is 1 (the common case: x / 1.0 is x exactly, and a
// division per value is slow).
inline double deviation(double v, double mean, double scale) noexcept {
    return scale == 1.0 ? v - mean : (v - mean) / scale;
}

// The lanes' loops over whole groups of four values, in plain C++ (the compiler makes SSE2 of
// them). Each returns how many values it took; window_stats_body does the rest one by one.
struct ScalarLanes {
    static std::size_t extremes_and_sums(std::span<const double> values, Lanes& lows, Lanes& highs,
                                         Lanes& sums, Lanes& compensations) noexcept {
        // Two passes, so that each loop's accumulators fit in the 16 SSE registers.
        std::size_t i = 0;
        for (; i + k_lanes <= values.size(); i += k_lanes) {
            for (std::size_t lane = 0; lane < k_lanes; ++lane) {
                lows[lane] = std::min(lows[lane], values[i + lane]);
                highs[lane] = std::max(highs[lane], values[i + lane]);
            }
        }
        for (std::size_t j = 0; j < i; j += k_lanes) {
            for (std::size_t lane = 0; lane < k_lanes; ++lane)
                add_compensated(sums[lane], compensations[lane], values[j + lane]);
        }
        return i;
    }
    static std::size_t squares(std::span<const double> values, double mean, double scale,
                               Lanes& squares) noexcept {
        std::size_t i = 0;
        for (; i + k_lanes <= values.size(); i += k_lanes) {
            for (std::size_t lane = 0; lane < k_lanes; ++lane) {
                const double d = deviation(values[i + lane], mean, scale);
                squares[lane] += d * d;
            }
        }
        return i;
    }
};

#if SLUICE_WINDOW_STATS_AVX2
// The same loops with the four lanes in one AVX2 register: one pass holds the minima, maxima,
// sums and compensations in four registers. The same IEEE operations in the same order per lane:
// vminpd(v, lo) is (v < lo ? v : lo), which is std::min(lo, v), and likewise for max; multiply
// and add stay separate (the target has no FMA, so nothing is fused).
struct Avx2Lanes {
    [[gnu::target("avx2")]] static std::size_t extremes_and_sums(std::span<const double> values,
                                                                 Lanes& lows, Lanes& highs,
                                                                 Lanes& sums,
                                                                 Lanes& compensations) noexcept {
        __m256d lo = _mm256_loadu_pd(lows.data());
        __m256d hi = _mm256_loadu_pd(highs.data());
        __m256d sum = _mm256_loadu_pd(sums.data());
        __m256d compensation = _mm256_loadu_pd(compensations.data());
        std::size_t i = 0;
        for (; i + k_lanes <= values.size(); i += k_lanes) {
            const __m256d v = _mm256_loadu_pd(values.data() + i);
            lo = _mm256_min_pd(v, lo);
            hi = _mm256_max_pd(v, hi);
            const __m256d t = _mm256_add_pd(sum, v);
            const __m256d v_part = _mm256_sub_pd(t, sum);
            compensation = _mm256_add_pd(compensation,
                                         _mm256_add_pd(_mm256_sub_pd(sum, _mm256_sub_pd(t, v_part)),
                                                       _mm256_sub_pd(v, v_part)));
            sum = t;
        }
        _mm256_storeu_pd(lows.data(), lo);
        _mm256_storeu_pd(highs.data(), hi);
        _mm256_storeu_pd(sums.data(), sum);
        _mm256_storeu_pd(compensations.data(), compensation);
        return i;
    }
    [[gnu::target("avx2")]] static std::size_t squares(std::span<const double> values, double mean,
                                                       double scale, Lanes& squares) noexcept {
        const __m256d m = _mm256_set1_pd(mean);
        const __m256d sc = _mm256_set1_pd(scale);
        __m256d sq = _mm256_loadu_pd(squares.data());
        std::size_t i = 0;
        if (scale == 1.0) {
            for (; i + k_lanes <= values.size(); i += k_lanes) {
                const __m256d d = _mm256_sub_pd(_mm256_loadu_pd(values.data() + i), m);
                sq = _mm256_add_pd(sq, _mm256_mul_pd(d, d));
            }
        } else {
            for (; i + k_lanes <= values.size(); i += k_lanes) {
                const __m256d d =
                    _mm256_div_pd(_mm256_sub_pd(_mm256_loadu_pd(values.data() + i), m), sc);
                sq = _mm256_add_pd(sq, _mm256_mul_pd(d, d));
            }
        }
        _mm256_storeu_pd(squares.data(), sq);
        return i;
    }
};
#endif

template <class Kernel>
[[gnu::always_inline]] inline WindowStats
window_stats_body(std::span<const double> values) noexcept {
    WindowStats s;
    // Compensated summation: the mean stays accurate when large values of opposite sign cancel.
    Lanes sums{};
    Lanes compensations{};
    Lanes lows;
    Lanes highs;
    lows.fill(values.front());
    highs.fill(values.front());
    std::size_t i = Kernel::extremes_and_sums(values, lows, highs, sums, compensations);
    for (std::size_t lane = 0; i < values.size(); ++i, ++lane)
        extremes_and_sum(lows, highs, sums, compensations, lane, values[i]);
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
    // Deviations beyond ~1e154 would overflow when squared: scale them by the largest first
    // (otherwise by 1, exactly: x / 1.0 is x).
    const double largest = std::max(std::abs(s.max - s.mean), std::abs(s.min - s.mean));
    const double scale = largest > 1e150 ? largest : 1.0;
    Lanes squares{};
    i = Kernel::squares(values, s.mean, scale, squares);
    for (std::size_t lane = 0; i < values.size(); ++i, ++lane) {
        const double d = deviation(values[i], s.mean, scale);
        squares[lane] += d * d;
    }
    s.std = scale * std::sqrt(((squares[0] + squares[1]) + (squares[2] + squares[3])) / n);
    return s;
}

} // namespace

namespace detail {

WindowStats window_stats_baseline(std::span<const double> values) noexcept {
    return window_stats_body<ScalarLanes>(values);
}

#if SLUICE_WINDOW_STATS_AVX2
// Bit for bit the baseline's results (Avx2Lanes above); tests/test_core_features.cpp checks that.
[[gnu::target("avx2")]] WindowStats window_stats_avx2(std::span<const double> values) noexcept {
    return window_stats_body<Avx2Lanes>(values);
}

bool cpu_has_avx2() noexcept {
    return __builtin_cpu_supports("avx2");
}
#endif

} // namespace detail

WindowStats window_stats(std::span<const double> values) noexcept {
#if SLUICE_WINDOW_STATS_AVX2
    static const bool avx2 = detail::cpu_has_avx2();
    if (avx2) return detail::window_stats_avx2(values);
#endif
    return detail::window_stats_baseline(values);
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

void SensorWindow::assign(std::span<const double> values) noexcept {
    const std::size_t keep = std::min(values.size(), m_capacity);
    if (keep > 0) {
        std::memcpy(m_buffer.data(), values.data() + (values.size() - keep), keep * sizeof(double));
    }
    m_begin = 0;
    m_size = keep;
}

// The windows of the sensors a worker has seen, with each sensor's calibration and count: open
// addressing over the sensor ids into a vector of sensors. Kept from batch to batch: with 1,000
// sensors a batch of 1,000 readings has ~600 of them, and allocating, zeroing, hashing into
// node-based maps and freeing them again every batch cost more than their statistics
// (docs/BENCHMARKS.md, "Many sensors").
struct WindowCache::Table {
    struct Sensor {
        std::string id;
        Calibration calibration;
        SensorWindow window{0};
        std::uint64_t count = 0; // readings of the sensor in the order that the window has seen
        bool known = false;      // count is true (false: the window came from outside a task)
        std::uint64_t stamp = 0; // the apply() that last named the sensor
    };

    // Forgets every sensor; windows of `capacity` from now on.
    void clear(std::size_t capacity) noexcept {
        m_capacity = capacity;
        m_used = 0;
        m_index.clear();
        m_named.clear();
    }

    Sensor* find(std::string_view id, std::size_t hash) noexcept {
        const std::uint32_t at = m_index.find(
            id, hash, [this](std::uint32_t k) -> std::string_view { return m_sensors[k].id; });
        return at == IdIndex::npos ? nullptr : &m_sensors[at];
    }
    Sensor* find(std::string_view id) noexcept { return find(id, IdIndex::hash(id)); }

    // A new sensor (of id hash `hash`), with an empty window.
    Sensor& add(const JobConfig& config, std::string_view id, std::size_t hash) {
        if (m_used == m_sensors.size()) m_sensors.emplace_back();
        Sensor& s = m_sensors[m_used];
        s.id.assign(id);
        s.calibration = config.calibration_for(id);
        if (s.window.capacity() != m_capacity) s.window = SensorWindow(m_capacity);
        s.window.assign({});
        s.count = 0;
        s.known = false;
        s.stamp = 0;
        m_index.insert(hash, static_cast<std::uint32_t>(m_used++));
        return s;
    }

    Sensor& find_or_add(const JobConfig& config, std::string_view id) {
        const std::size_t hash = IdIndex::hash(id);
        Sensor* s = find(id, hash);
        return s != nullptr ? *s : add(config, id, hash);
    }

    // The job's window: a change of job (or of W) starts over.
    void prepare(const JobConfig& config) noexcept {
        const std::size_t window = std::max<std::uint32_t>(config.window, 1);
        if (window != m_capacity) clear(window);
        ++m_stamp;
    }

    std::size_t m_capacity = 0;
    std::size_t m_used = 0;
    std::uint64_t m_stamp = 0;
    std::uint64_t m_drops = 0;     // times every window was dropped to keep to kept_windows
    std::vector<Sensor> m_sensors; // [0, m_used) are kept
    IdIndex m_index;               // positions in m_sensors
    // The positions of the sensors the last apply() named, in the order of its entries: the order
    // in which they first appear in the batch, so compute() finds most of them without a lookup.
    std::vector<std::uint32_t> m_named;
};

WindowCache::WindowCache() : m_table(std::make_unique<Table>()) {}
WindowCache::~WindowCache() = default;

void WindowCache::clear() noexcept {
    m_table->clear(m_table->m_capacity);
}

std::size_t WindowCache::sensors() const noexcept {
    return m_table->m_used;
}

std::uint64_t WindowCache::drops() const noexcept {
    return m_table->m_drops;
}

bool WindowCache::apply(const JobConfig& config, const History& history, std::size_t& failed) {
    Table& t = *m_table;
    t.prepare(config);
    if (config.kept_windows != 0 && t.m_used + history.entries.size() > config.kept_windows) {
        std::size_t added = 0;
        for (const History::Entry& e : history.entries) added += t.find(e.sensor_id) == nullptr;
        if (t.m_used + added > config.kept_windows) {
            t.clear(t.m_capacity);
            ++t.m_drops;
        }
    }
    const std::uint64_t keep = t.m_capacity - 1;
    t.m_named.clear();
    for (std::size_t k = 0; k < history.entries.size(); ++k) {
        const History::Entry& e = history.entries[k];
        const auto values = std::span(history.values).subspan(e.first, e.count);
        const std::size_t hash = IdIndex::hash(e.sensor_id);
        Table::Sensor* s = t.find(e.sensor_id, hash);
        if (e.count == std::min(keep, e.end)) { // the whole history: true whatever we held
            if (s == nullptr) s = &t.add(config, e.sensor_id, hash);
            s->window.assign(values);
        } else if (s != nullptr && s->known && e.count <= e.end && s->count == e.end - e.count) {
            for (const double v : values) s->window.push(v);
        } else {
            failed = k;
            return false;
        }
        s->count = e.end;
        s->known = true;
        s->stamp = t.m_stamp;
        t.m_named.push_back(static_cast<std::uint32_t>(s - t.m_sensors.data()));
    }
    return true;
}

void WindowCache::compute(const JobConfig& config, std::span<const ReadingView> readings,
                          std::vector<Features>& out) {
    Table& t = *m_table;
    out.resize(readings.size());
    Table::Sensor* last = nullptr;
    std::size_t next_named = 0;
    for (std::size_t i = 0; i < readings.size(); ++i) {
        const ReadingView& r = readings[i];
        // Consecutive readings often share a sensor; skip the lookup then, and when the reading
        // is the first of the next sensor apply() named (entries come in order of appearance).
        if (last == nullptr || r.sensor_id != last->id) {
            last = nullptr;
            if (next_named < t.m_named.size()) {
                Table::Sensor& named = t.m_sensors[t.m_named[next_named]];
                if (named.id == r.sensor_id) {
                    last = &named;
                    ++next_named;
                }
            }
            if (last == nullptr) last = &t.find_or_add(config, r.sensor_id);
            if (last->stamp != t.m_stamp) {
                // Not named by this batch's history: nothing before the batch is known of it.
                last->window.assign({});
                last->known = false;
                last->stamp = t.m_stamp;
            }
        }
        const Calibration cal = last->calibration;
        SensorWindow* const last_window = &last->window;
        last_window->push(r.value);
        ++last->count;
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
        f.heavy = 0.0;
    }
    if (config.heavy == 0) return;
    // Two readings at a time (heavy_transform_pair): ~14 % less time per reading.
    std::size_t i = 0;
    for (; i + 2 <= readings.size(); i += 2) {
        const auto [a, b] =
            heavy_transform_pair(readings[i].value, readings[i + 1].value, config.heavy);
        out[i].heavy = a;
        out[i + 1].heavy = b;
    }
    if (i < readings.size()) out[i].heavy = heavy_transform(readings[i].value, config.heavy);
}

void compute_features(const JobConfig& config, std::span<const ReadingView> readings,
                      const History& history, std::vector<Features>& out) {
    thread_local WindowCache cache;
    WindowCache::Table& t = *cache.m_table;
    t.prepare(config);
    t.clear(t.m_capacity);
    // Every entry is the sensor's history, whatever its end says; a sensor named twice continues
    // in turn.
    for (const auto& e : history.entries) {
        const std::size_t skip = e.count >= t.m_capacity ? e.count - (t.m_capacity - 1) : 0;
        const auto values = std::span(history.values).subspan(e.first + skip, e.count - skip);
        const std::size_t hash = IdIndex::hash(e.sensor_id);
        WindowCache::Table::Sensor* s = t.find(e.sensor_id, hash);
        if (s == nullptr) {
            s = &t.add(config, e.sensor_id, hash);
            s->window.assign(values);
        } else {
            for (const double v : values) s->window.push(v);
        }
        s->stamp = t.m_stamp;
    }
    cache.compute(config, readings, out);
}

} // namespace sluice::core
