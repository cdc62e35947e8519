#include "core/features.hpp"

#include <algorithm>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

using sluice::core::Calibration;
using sluice::core::compute_features;
using sluice::core::Features;
using sluice::core::heavy_transform;
using sluice::core::heavy_transform_pair;
using sluice::core::History;
using sluice::core::JobConfig;
using sluice::core::ReadingView;
using sluice::core::SensorWindow;
using sluice::core::window_stats;

namespace {

// |got - want| <= rel * |want|; a zero expectation must be met exactly.
bool near_rel(double got, long double want, long double rel = 1e-12L) {
    if (want == 0.0L) return got == 0.0;
    return std::fabs(static_cast<long double>(got) - want) <= rel * std::fabs(want);
}

long double heavy_reference(long double v, std::uint32_t k) {
    for (std::uint32_t i = 0; i < k; ++i) v = sinl(v) * cosl(v) + logl(fabsl(v) + 1.0L);
    return v;
}

struct Reference {
    long double mean = 0;
    long double std = 0;
    double min = 0;
    double max = 0;
};

// The textbook two-pass computation in long double.
Reference naive_stats(const std::vector<double>& values) {
    Reference r;
    long double sum = 0;
    r.min = values.front();
    r.max = values.front();
    for (const double v : values) {
        sum += v;
        if (v < r.min) r.min = v;
        if (v > r.max) r.max = v;
    }
    const auto n = static_cast<long double>(values.size());
    r.mean = sum / n;
    long double squares = 0;
    for (const double v : values) {
        const long double d = static_cast<long double>(v) - r.mean;
        squares += d * d;
    }
    r.std = sqrtl(squares / n);
    return r;
}

bool same_features(const Features& a, const Features& b) {
    return a.normalized == b.normalized && a.feature == b.feature &&
           a.window_count == b.window_count && a.window_mean == b.window_mean &&
           a.window_std == b.window_std && a.window_min == b.window_min &&
           a.window_max == b.window_max && a.zscore == b.zscore && a.heavy == b.heavy;
}

std::vector<Features> features_of(const JobConfig& config, const std::vector<ReadingView>& readings,
                                  const History& history = History{}) {
    std::vector<Features> out;
    compute_features(config, readings, history, out);
    return out;
}

} // namespace

// ------------------------------------------------------------------------------------------------
// heavy_transform

TEST_CASE("heavy_transform with K = 0 returns the value unchanged", "[features]") {
    for (const double v : {0.0, 1.5, -7.25, 1e300}) CHECK(heavy_transform(v, 0) == v);
}

TEST_CASE("heavy_transform matches a long double loop for K = 1, 2 and 100", "[features]") {
    const double values[] = {0.0, 1.0, -1.0, 0.5, 3.7, -12.25, 1e6, 1e-300, -0.75, 42.0, 1700.5};
    for (const std::uint32_t k : {1u, 2u, 100u}) {
        for (const double v : values) {
            INFO("K " << k << " value " << v);
            const long double want = heavy_reference(v, k);
            const double got = heavy_transform(v, k);
            CHECK(near_rel(got, want));
        }
    }
    // One step by hand: sin(1)cos(1) + ln 2 = 0.4546487134128409 + 0.6931471805599453.
    CHECK(near_rel(heavy_transform(1.0, 1), 0.45464871341284084770L + 0.69314718055994530942L));
}

TEST_CASE("heavy_transform_pair gives each value what heavy_transform gives it alone",
          "[features]") {
    // Bit for bit: a reading's heavy value must not depend on which reading it is paired with
    // (heavy_transform itself is checked against the long double loop above).
    std::vector<double> values = {0.0, -0.0, 1.0, -1.0, 0.5, 3.7, -12.25, 1e6, 1e-300, 1e300, 42.0};
    std::mt19937_64 rng(20261203);
    std::normal_distribution<double> gauss(50.0, 15.0);
    for (int i = 0; i < 40; ++i) values.push_back(gauss(rng));
    const auto bits = [](double v) { return std::bit_cast<std::uint64_t>(v); };
    for (const std::uint32_t k : {0u, 1u, 2u, 100u}) {
        for (const double a : values) {
            for (const double b : values) {
                const auto [got_a, got_b] = heavy_transform_pair(a, b, k);
                INFO("K " << k << " pair " << a << ", " << b);
                REQUIRE(bits(got_a) == bits(heavy_transform(a, k)));
                REQUIRE(bits(got_b) == bits(heavy_transform(b, k)));
            }
        }
    }
}

TEST_CASE("Every reading of a batch gets its heavy value, in even and odd batches", "[features]") {
    JobConfig config;
    config.window = 4;
    config.heavy = 7;
    const double values[] = {3.7, -12.25, 0.0, 1e6, 42.0, -0.75, 1700.5};
    const char* sensors[] = {"A", "B", "A", "C", "B", "A", "D"};
    for (std::size_t n = 1; n <= std::size(values); ++n) {
        std::vector<ReadingView> readings;
        for (std::size_t i = 0; i < n; ++i)
            readings.push_back({sensors[i], static_cast<double>(i), values[i], ""});
        const auto f = features_of(config, readings);
        REQUIRE(f.size() == n);
        for (std::size_t i = 0; i < n; ++i) {
            INFO("batch of " << n << ", reading " << i);
            CHECK(near_rel(f[i].heavy, heavy_reference(values[i], 7)));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// window_stats

TEST_CASE("window_stats matches a naive long double two-pass reference on random windows",
          "[features]") {
    std::mt19937_64 rng(7);
    std::uniform_int_distribution<int> size(1, 200);
    std::uniform_real_distribution<double> uniform(-100.0, 100.0);
    std::uniform_real_distribution<double> exponent(-8.0, 8.0);
    for (int trial = 0; trial < 2000; ++trial) {
        std::vector<double> values(static_cast<std::size_t>(size(rng)));
        const int kind = trial % 4;
        for (double& v : values) {
            if (kind == 0) v = uniform(rng);
            if (kind == 1) v = 1e6 + uniform(rng) * 1e-3; // large mean, small spread
            if (kind == 2) v = std::pow(10.0, exponent(rng)) * (uniform(rng) < 0 ? -1 : 1);
            if (kind == 3) v = std::round(uniform(rng)); // many repeats
        }
        INFO("trial " << trial << " size " << values.size());
        const auto s = window_stats(values);
        const Reference r = naive_stats(values);
        CHECK(s.min == r.min);
        CHECK(s.max == r.max);
        CHECK(near_rel(s.mean, r.mean));
        CHECK(near_rel(s.std, r.std));
    }
}

#if SLUICE_WINDOW_STATS_AVX2
TEST_CASE("window_stats gives the same bits with and without AVX2", "[features]") {
    // Workers on different hosts must agree (SPEC §3), so the AVX2 build may not differ from the
    // baseline in a single bit: not in rounding (no FMA contraction, no reordering), not in the
    // sign of a zero, not in the scaled path for huge deviations.
    if (!sluice::core::detail::cpu_has_avx2()) {
        WARN("this CPU has no AVX2: nothing to compare");
        return;
    }
    std::mt19937_64 rng(20261202);
    std::uniform_int_distribution<int> size(1, 120);
    std::uniform_real_distribution<double> uniform(-100.0, 100.0);
    std::uniform_real_distribution<double> exponent(-300.0, 300.0);
    const auto bits = [](double d) {
        std::uint64_t b = 0;
        std::memcpy(&b, &d, sizeof b);
        return b;
    };
    for (int trial = 0; trial < 20000; ++trial) {
        std::vector<double> values(static_cast<std::size_t>(size(rng)));
        const int kind = trial % 5;
        for (double& v : values) {
            if (kind == 0) v = uniform(rng);
            if (kind == 1) v = 1e6 + uniform(rng) * 1e-3;
            if (kind == 2) v = std::pow(10.0, exponent(rng)) * (uniform(rng) < 0 ? -1 : 1);
            if (kind == 3) v = std::round(uniform(rng) / 50.0) * (uniform(rng) < 0 ? -0.0 : 0.0);
            if (kind == 4) v = uniform(rng) < 0 ? -1.7e308 : 1.7e308;
        }
        INFO("trial " << trial << " size " << values.size());
        const auto a = sluice::core::detail::window_stats_baseline(values);
        const auto b = sluice::core::detail::window_stats_avx2(values);
        REQUIRE(bits(a.mean) == bits(b.mean));
        REQUIRE(bits(a.std) == bits(b.std));
        REQUIRE(bits(a.min) == bits(b.min));
        REQUIRE(bits(a.max) == bits(b.max));
    }
}
#endif

TEST_CASE("window_stats of a few values computed by hand", "[features]") {
    const std::vector<double> a = {1.0, 2.0};
    const auto s = window_stats(a);
    CHECK(s.mean == 1.5);
    CHECK(s.std == 0.5);
    CHECK(s.min == 1.0);
    CHECK(s.max == 2.0);
    // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, population std 2.
    const std::vector<double> b = {2, 4, 4, 4, 5, 5, 7, 9};
    const auto t = window_stats(b);
    CHECK(t.mean == 5.0);
    CHECK(t.std == 2.0);
    CHECK(t.min == 2.0);
    CHECK(t.max == 9.0);
    // Cancellation: 1e16, 1, -1e16 has mean 1/3.
    const std::vector<double> c = {1e16, 1.0, -1e16};
    CHECK(near_rel(window_stats(c).mean, 1.0L / 3.0L));
    // The same across the sums' lanes (values i and i + 4 share one): 1e16 and -1e16 fall in
    // different lanes and 1e16 + 1 is not a double, yet the mean is (1 + 2 + 3 + 4 + 5) / 7.
    const std::vector<double> d = {1e16, -1e16, 1.0, 2.0, 3.0, 4.0, 5.0};
    CHECK(near_rel(window_stats(d).mean, 15.0L / 7.0L));
    const std::vector<double> e = {1.0, 1e16, 2.0, 3.0, 4.0, 5.0, -1e16, 6.0, 7.0};
    CHECK(near_rel(window_stats(e).mean, 28.0L / 9.0L));
}

TEST_CASE("a constant window has std exactly 0 and mean exactly the value", "[features]") {
    for (const double v : {0.1, 21.7, -3.3, 1e-310, 1e308, 0.0}) {
        for (const std::size_t n :
             {std::size_t{1}, std::size_t{2}, std::size_t{7}, std::size_t{50}, std::size_t{1000}}) {
            INFO("value " << v << " times " << n);
            const std::vector<double> values(n, v);
            const auto s = window_stats(values);
            CHECK(s.mean == v);
            CHECK(s.std == 0.0);
            CHECK(s.min == v);
            CHECK(s.max == v);
        }
    }
}

TEST_CASE("window_stats of values near the largest double has a finite, accurate mean",
          "[features]") {
    const std::vector<double> values = {1.7e308, 1.7e308, 1.6e308};
    const auto s = window_stats(values);
    REQUIRE(std::isfinite(s.mean));
    CHECK(near_rel(s.mean, naive_stats(values).mean));
    CHECK(s.min == 1.6e308);
    CHECK(s.max == 1.7e308);
}

// Known defect: the second pass squares deviations in double, so a window whose deviations
// exceed ~1.34e154 gets std = inf (and zscore 0) although the exact std is finite. Readings of
// such magnitude are valid (finite), and the README promises agreement with an exact computation.
TEST_CASE("window_stats of finite values beyond 1e154 has a finite, accurate std", "[features]") {
    const std::vector<double> values = {-1e200, 1e200};
    const auto s = window_stats(values);
    CHECK(s.mean == 0.0);
    CHECK(std::isfinite(s.std));
    CHECK(near_rel(s.std, 1e200L));
}

// ------------------------------------------------------------------------------------------------
// SensorWindow

TEST_CASE("SensorWindow keeps the last capacity values in order through many pushes",
          "[features]") {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> value(-1e3, 1e3);
    for (const std::size_t capacity : {1u, 2u, 3u, 7u, 50u, 64u}) {
        SensorWindow w(capacity);
        std::deque<double> ref;
        CHECK(w.size() == 0);
        CHECK(w.values().empty());
        for (int i = 0; i < 1000; ++i) {
            const double v = value(rng);
            w.push(v);
            ref.push_back(v);
            if (ref.size() > capacity) ref.pop_front();
            const auto got = w.values();
            INFO("capacity " << capacity << " push " << i);
            REQUIRE(w.size() == ref.size());
            REQUIRE(got.size() == ref.size());
            REQUIRE(std::equal(got.begin(), got.end(), ref.begin()));
        }
    }
}

// ------------------------------------------------------------------------------------------------
// compute_features

TEST_CASE("features of a small batch computed by hand", "[features]") {
    JobConfig config;
    config.window = 2;
    const std::vector<ReadingView> readings = {
        {"A", 1.0, 1.0, "C"}, {"A", 2.0, 2.0, "C"}, {"A", 3.0, 3.0, "C"}};
    const auto f = features_of(config, readings);
    REQUIRE(f.size() == 3);

    CHECK(f[0].window_count == 1);
    CHECK(f[0].window_mean == 1.0);
    CHECK(f[0].window_std == 0.0);
    CHECK(f[0].window_min == 1.0);
    CHECK(f[0].window_max == 1.0);
    CHECK(f[0].zscore == 0.0);
    CHECK(f[0].heavy == 0.0);
    // Default calibration 20/60: (1 - 20) / 60 = -19/60; feature sqrt(19/60) ln 2.
    CHECK(near_rel(f[0].normalized, -19.0L / 60.0L));
    CHECK(near_rel(f[0].feature, sqrtl(19.0L / 60.0L) * 0.69314718055994530942L));

    CHECK(f[1].window_count == 2);
    CHECK(f[1].window_mean == 1.5);
    CHECK(f[1].window_std == 0.5);
    CHECK(f[1].window_min == 1.0);
    CHECK(f[1].window_max == 2.0);
    CHECK(f[1].zscore == 1.0);
    CHECK(near_rel(f[1].normalized, -18.0L / 60.0L));

    CHECK(f[2].window_count == 2);
    CHECK(f[2].window_mean == 2.5);
    CHECK(f[2].window_std == 0.5);
    CHECK(f[2].window_min == 2.0);
    CHECK(f[2].window_max == 3.0);
    CHECK(f[2].zscore == 1.0);
    CHECK(near_rel(f[2].normalized, -17.0L / 60.0L));
    CHECK(near_rel(f[2].feature, sqrtl(17.0L / 60.0L) * logl(4.0L)));
}

TEST_CASE("interleaved sensors keep separate windows", "[features]") {
    JobConfig config;
    config.window = 2;
    const std::vector<ReadingView> readings = {{"A", 1, 1.0, ""},
                                               {"B", 1, 10.0, ""},
                                               {"A", 2, 2.0, ""},
                                               {"B", 2, 20.0, ""},
                                               {"B", 3, 40.0, ""}};
    const auto f = features_of(config, readings);
    REQUIRE(f.size() == 5);
    CHECK(f[1].window_count == 1);
    CHECK(f[1].window_mean == 10.0);
    CHECK(f[2].window_mean == 1.5);
    CHECK(f[3].window_mean == 15.0);
    CHECK(f[3].window_std == 5.0);
    CHECK(f[3].zscore == 1.0);
    CHECK(f[4].window_mean == 30.0);
    CHECK(f[4].window_std == 10.0);
    CHECK(f[4].window_min == 20.0);
    CHECK(f[4].window_max == 40.0);
}

TEST_CASE("calibration uses the listed sensors and 20/60 for the others", "[features]") {
    JobConfig config;
    config.window = 3;
    config.calibration["A"] = Calibration{10.0, 4.0};
    config.calibration["C"] = Calibration{-1.0, -0.5};
    const std::vector<ReadingView> readings = {
        {"A", 1, 2.0, ""}, {"B", 1, 50.0, ""}, {"C", 1, 3.0, ""}, {"A", 2, 30.0, ""}};
    const auto f = features_of(config, readings);
    CHECK(f[0].normalized == -2.0); // (2 - 10) / 4
    CHECK(f[1].normalized == 0.5);  // (50 - 20) / 60
    CHECK(f[2].normalized == -8.0); // (3 + 1) / -0.5
    CHECK(f[3].normalized == 5.0);  // (30 - 10) / 4
    CHECK(near_rel(f[0].feature, sqrtl(2.0L) * logl(3.0L)));
    CHECK(near_rel(f[1].feature, sqrtl(0.5L) * logl(51.0L)));
    CHECK(near_rel(f[2].feature, sqrtl(8.0L) * logl(4.0L)));
}

TEST_CASE("heavy is computed only when K > 0", "[features]") {
    JobConfig config;
    config.window = 3;
    const std::vector<ReadingView> readings = {{"A", 1, 3.7, ""}, {"A", 2, -12.25, ""}};
    for (const auto& f : features_of(config, readings)) CHECK(f.heavy == 0.0);
    config.heavy = 5;
    const auto f = features_of(config, readings);
    CHECK(near_rel(f[0].heavy, heavy_reference(3.7, 5)));
    CHECK(near_rel(f[1].heavy, heavy_reference(-12.25, 5)));
}

TEST_CASE("zscore is 0 when the window std is 0", "[features]") {
    JobConfig config;
    config.window = 4;
    const std::vector<ReadingView> readings = {
        {"A", 1, 5.0, ""}, {"A", 2, 5.0, ""}, {"A", 3, 5.0, ""}, {"B", 1, 0.1, ""}};
    for (const auto& f : features_of(config, readings)) {
        CHECK(f.window_std == 0.0);
        CHECK(f.zscore == 0.0);
    }
    config.window = 1;
    const std::vector<ReadingView> varying = {{"A", 1, 1.0, ""}, {"A", 2, 9.0, ""}};
    for (const auto& f : features_of(config, varying)) {
        CHECK(f.window_count == 1);
        CHECK(f.window_std == 0.0);
        CHECK(f.zscore == 0.0);
    }
}

TEST_CASE("history values precede the batch and only the last W-1 of them count", "[features]") {
    JobConfig config;
    config.window = 3;
    History history;
    for (int i = 1; i <= 10; ++i) history.values.push_back(i);
    history.values.push_back(100.0);
    history.entries.push_back({"A", 0, 10}); // 1..10: only 9 and 10 count
    history.entries.push_back({"Z", 10, 1}); // a sensor not in the batch
    const std::vector<ReadingView> readings = {{"A", 1, 20.0, ""}, {"B", 1, 4.0, ""}};
    const auto f = features_of(config, readings, history);
    // Window [9, 10, 20]: mean 13, population std sqrt((16 + 9 + 49) / 3).
    CHECK(f[0].window_count == 3);
    CHECK(f[0].window_mean == 13.0);
    CHECK(near_rel(f[0].window_std, sqrtl(74.0L / 3.0L)));
    CHECK(f[0].window_min == 9.0);
    CHECK(f[0].window_max == 20.0);
    CHECK(near_rel(f[0].zscore, 7.0L / sqrtl(74.0L / 3.0L)));
    CHECK(f[1].window_count == 1);

    // Fewer than W-1 values.
    History short_history;
    short_history.values = {5.0};
    short_history.entries.push_back({"A", 0, 1});
    const auto g = features_of(config, readings, short_history);
    CHECK(g[0].window_count == 2);
    CHECK(g[0].window_mean == 12.5);
    CHECK(g[0].window_std == 7.5);
}

TEST_CASE("a sensor named twice in the history gets both entries' values in turn", "[features]") {
    JobConfig config;
    config.window = 4;
    History history;
    history.values = {1.0, 2.0, 3.0};
    history.entries.push_back({"A", 0, 2});
    history.entries.push_back({"A", 2, 1});
    const auto f = features_of(config, {{"A", 1, 10.0, ""}}, history);
    // Window [1, 2, 3, 10].
    CHECK(f[0].window_count == 4);
    CHECK(f[0].window_mean == 4.0);
    CHECK(f[0].window_min == 1.0);
    CHECK(f[0].window_max == 10.0);
}

TEST_CASE("batches of thousands of sensors and of changing window sizes, one after another, match "
          "a naive per-record reference",
          "[features]") {
    // compute_features keeps its windows' memory from call to call; nothing of one call may show
    // in the next: not a window's values, not its size, not a sensor's calibration.
    std::vector<std::string> ids;
    for (int s = 0; s < 3000; ++s) ids.push_back("sensor-" + std::to_string(s));
    std::mt19937_64 rng(7);
    std::uniform_real_distribution<double> value(-50.0, 50.0);
    for (const std::uint32_t w : {4u, 9u, 4u, 1u, 50u}) {
        INFO("window " << w);
        JobConfig config;
        config.window = w;
        config.calibration[ids[w]] = Calibration{1.0 * w, 2.0};
        // More sensors than any history names: the table grows while the batch runs.
        std::vector<ReadingView> batch;
        for (int i = 0; i < 6000; ++i) {
            batch.push_back(
                ReadingView{ids[rng() % ids.size()], static_cast<double>(i), value(rng), "u"});
        }
        // Half of the sensors come with a history of 0..W+2 values (at most W-1 count).
        History history;
        std::map<std::string_view, std::vector<double>> before;
        for (std::size_t s = 0; s < ids.size(); s += 2) {
            const std::size_t n = rng() % (w + 3);
            history.entries.push_back({ids[s], history.values.size(), n});
            for (std::size_t k = 0; k < n; ++k) {
                history.values.push_back(value(rng));
                before[ids[s]].push_back(history.values.back());
            }
        }
        const auto f = features_of(config, batch, history);
        REQUIRE(f.size() == batch.size());
        std::map<std::string_view, std::vector<double>> seen = before;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            INFO("record " << i);
            auto& values = seen[batch[i].sensor_id];
            values.push_back(batch[i].value);
            const std::size_t count = std::min<std::size_t>(values.size(), w);
            const std::vector<double> window(values.end() - static_cast<std::ptrdiff_t>(count),
                                             values.end());
            const Reference r = naive_stats(window);
            const Calibration cal = config.calibration_for(batch[i].sensor_id);
            CHECK(f[i].window_count == count);
            CHECK(f[i].window_min == r.min);
            CHECK(f[i].window_max == r.max);
            CHECK(near_rel(f[i].window_mean, r.mean));
            CHECK(near_rel(f[i].window_std, r.std, 1e-10L));
            CHECK(near_rel(f[i].normalized,
                           (static_cast<long double>(batch[i].value) - cal.offset) / cal.scale));
        }
    }
}

TEST_CASE("batches with test-built histories give the same features as one whole batch, and "
          "both match a naive per-record reference",
          "[features]") {
    constexpr std::uint32_t w = 7;
    const std::vector<std::string> sensors = {"s0", "s1", "s2", "s3", "s4"};
    JobConfig config;
    config.window = w;
    config.heavy = 2;
    config.calibration["s1"] = Calibration{3.5, 0.25};
    config.calibration["s3"] = Calibration{-100.0, 7.0};

    std::mt19937_64 rng(42);
    std::uniform_real_distribution<double> value(-50.0, 50.0);
    std::vector<ReadingView> stream;
    std::size_t sensor = 0;
    for (int i = 0; i < 800; ++i) {
        if (rng() % 3 != 0) sensor = rng() % sensors.size(); // runs of the same sensor too
        double v = value(rng);
        if (i >= 200 && i < 260) v = 21.7; // a constant stretch: std 0, zscore 0
        stream.push_back(ReadingView{sensors[sensor], static_cast<double>(i), v, "u"});
    }

    const std::vector<Features> whole = features_of(config, stream);
    REQUIRE(whole.size() == stream.size());

    SECTION("the whole batch matches a naive per-record reference") {
        for (std::size_t i = 0; i < stream.size(); ++i) {
            INFO("record " << i);
            std::vector<double> window;
            for (std::size_t j = i + 1; j-- > 0 && window.size() < w;) {
                if (stream[j].sensor_id == stream[i].sensor_id) window.push_back(stream[j].value);
            }
            std::reverse(window.begin(), window.end());
            const Reference r = naive_stats(window);
            const Calibration cal = config.calibration_for(stream[i].sensor_id);
            const long double v = stream[i].value;
            const long double normalized = (v - cal.offset) / cal.scale;
            const Features& f = whole[i];
            CHECK(f.window_count == window.size());
            CHECK(f.window_min == r.min);
            CHECK(f.window_max == r.max);
            CHECK(near_rel(f.window_mean, r.mean));
            CHECK(near_rel(f.window_std, r.std));
            CHECK(near_rel(f.normalized, normalized));
            CHECK(near_rel(f.feature, sqrtl(fabsl(normalized)) * logl(fabsl(v) + 1.0L)));
            if (r.std == 0.0L) {
                CHECK(f.zscore == 0.0);
            } else {
                const long double z = (v - r.mean) / r.std;
                CHECK(std::fabs(f.zscore - z) <= 1e-12L * std::max(1.0L, fabsl(z)));
            }
        }
    }

    SECTION("any split into batches gives exactly the same features") {
        for (int trial = 0; trial < 30; ++trial) {
            // The test's own record of each sensor's values so far.
            std::map<std::string_view, std::deque<double>> seen;
            // In odd trials give every value seen so far, not just W-1: the excess is ignored.
            const bool extra_history = trial % 2 == 1;
            std::size_t start = 0;
            while (start < stream.size()) {
                const std::size_t len =
                    std::min<std::size_t>(rng() % (trial < 10 ? 4 : 60), stream.size() - start);
                const std::vector<ReadingView> batch(
                    stream.begin() + static_cast<std::ptrdiff_t>(start),
                    stream.begin() + static_cast<std::ptrdiff_t>(start + len));
                History history;
                std::vector<std::string_view> in_batch;
                for (const auto& r : batch) {
                    if (std::find(in_batch.begin(), in_batch.end(), r.sensor_id) == in_batch.end())
                        in_batch.push_back(r.sensor_id);
                }
                for (const auto id : in_batch) {
                    const auto it = seen.find(id);
                    if (it == seen.end()) continue;
                    const std::deque<double>& values = it->second;
                    const std::size_t keep =
                        extra_history ? values.size() : std::min<std::size_t>(values.size(), w - 1);
                    History::Entry e;
                    e.sensor_id = id;
                    e.first = history.values.size();
                    e.count = keep;
                    history.values.insert(history.values.end(),
                                          values.end() - static_cast<std::ptrdiff_t>(keep),
                                          values.end());
                    history.entries.push_back(e);
                }
                const auto got = features_of(config, batch, history);
                REQUIRE(got.size() == batch.size());
                for (std::size_t i = 0; i < batch.size(); ++i) {
                    INFO("trial " << trial << " record " << start + i);
                    REQUIRE(same_features(got[i], whole[start + i]));
                }
                for (const auto& r : batch) seen[r.sensor_id].push_back(r.value);
                start += len;
            }
        }
    }
}

namespace {

// A history of (sensor, end, values) entries.
History
history_of(std::initializer_list<std::tuple<std::string_view, std::uint64_t, std::vector<double>>>
               entries) {
    History h;
    for (const auto& [id, end, values] : entries) {
        h.entries.push_back({id, h.values.size(), values.size(), end});
        h.values.insert(h.values.end(), values.begin(), values.end());
    }
    return h;
}

} // namespace

TEST_CASE("window cache: whole histories replace, continuing ones append, any other is refused",
          "[features]") {
    JobConfig config;
    config.window = 4; // histories of at most 3 values
    sluice::core::WindowCache cache;
    std::vector<Features> out;
    std::size_t failed = 99;
    const auto compute = [&](std::vector<ReadingView> readings) {
        cache.compute(config, readings, out);
        return out;
    };
    const ReadingView a1{"A", 0, 1.0, "C"}, a2{"A", 0, 2.0, "C"}, a3{"A", 0, 3.0, "C"};

    // A new sensor: its whole history is empty (end 0).
    REQUIRE(cache.apply(config, history_of({{"A", 0, {}}}), failed));
    compute({a1, a2});
    CHECK(out[1].window_count == 2);
    // Nothing missed: an empty continuation at end 2.
    REQUIRE(cache.apply(config, history_of({{"A", 2, {}}}), failed));
    compute({a3});
    CHECK(out[0].window_count == 3);
    CHECK(out[0].window_mean == 2.0);
    // Two readings another worker computed (4 and 5), then 6 here: the window is 3, 4, 5, 6.
    REQUIRE(cache.apply(config, history_of({{"A", 5, {4.0, 5.0}}}), failed));
    compute({{"A", 0, 6.0, "C"}});
    CHECK(out[0].window_count == 4);
    CHECK(out[0].window_min == 3.0);
    CHECK(out[0].window_mean == 4.5);

    // The cache is at A's 6th reading: a continuation from the 8th is refused, naming the entry;
    // so is a partial history of a sensor it never saw.
    CHECK_FALSE(cache.apply(config, history_of({{"A", 9, {9.0}}}), failed));
    CHECK(failed == 0);
    CHECK_FALSE(cache.apply(config, history_of({{"A", 6, {}}, {"B", 10, {1.0, 2.0}}}), failed));
    CHECK(failed == 1);
    // The whole history (the last 3 of A's 9 readings) is always accepted, and replaces.
    REQUIRE(cache.apply(config, history_of({{"A", 9, {7.0, 8.0, 9.0}}}), failed));
    compute({{"A", 0, 10.0, "C"}});
    CHECK(out[0].window_min == 7.0);
    CHECK(out[0].window_mean == 8.5);

    // A batch whose history does not name A: A starts from an empty window, and its count is no
    // longer trusted, so a continuation of it is refused until a whole history comes.
    REQUIRE(cache.apply(config, history_of({{"B", 0, {}}}), failed));
    compute({{"A", 0, 11.0, "C"}});
    CHECK(out[0].window_count == 1);
    CHECK_FALSE(cache.apply(config, history_of({{"A", 11, {}}}), failed));
    REQUIRE(cache.apply(config, history_of({{"A", 11, {9.0, 10.0, 11.0}}}), failed));
    CHECK(cache.sensors() == 2);

    // clear() forgets everything: a continuation is refused, a whole history accepted.
    cache.clear();
    CHECK(cache.sensors() == 0);
    CHECK_FALSE(cache.apply(config, history_of({{"A", 12, {12.0}}}), failed));
    REQUIRE(cache.apply(config, history_of({{"A", 12, {10.0, 11.0, 12.0}}}), failed));
    // Another window size (a new job) starts over too.
    config.window = 3;
    CHECK_FALSE(cache.apply(config, history_of({{"A", 12, {}}}), failed));
}

TEST_CASE("window cache: past kept_windows sensors, every window is dropped before the batch",
          "[features]") {
    JobConfig config;
    config.window = 4;
    config.kept_windows = 2;
    sluice::core::WindowCache cache;
    std::vector<Features> out;
    std::size_t failed = 99;

    REQUIRE(cache.apply(config, history_of({{"A", 0, {}}, {"B", 0, {}}}), failed));
    cache.compute(config, std::vector<ReadingView>{{"A", 0, 1.0, "C"}, {"B", 0, 5.0, "C"}}, out);
    CHECK(cache.sensors() == 2);
    // A batch of held sensors only: nothing is dropped, and A's window continues (1, then 2).
    REQUIRE(cache.apply(config, history_of({{"A", 1, {}}}), failed));
    cache.compute(config, std::vector<ReadingView>{{"A", 0, 2.0, "C"}}, out);
    CHECK(out[0].window_mean == 1.5);
    CHECK(cache.drops() == 0);
    // C would make three: A and B are dropped first, so B's continuation is now refused ...
    CHECK_FALSE(cache.apply(config, history_of({{"B", 1, {}}, {"C", 0, {}}}), failed));
    CHECK(failed == 0);
    CHECK(cache.drops() == 1);
    CHECK(cache.sensors() == 0);
    // ... and the batch's whole histories (as the ventilator sends after the same drop) are
    // accepted.
    REQUIRE(cache.apply(config, history_of({{"B", 1, {5.0}}, {"C", 0, {}}}), failed));
    CHECK(cache.drops() == 1);
    CHECK(cache.sensors() == 2);
    cache.compute(config, std::vector<ReadingView>{{"B", 0, 7.0, "C"}}, out);
    CHECK(out[0].window_mean == 6.0);
    // A batch of more sensors than the limit still gets all of them, after a drop.
    REQUIRE(cache.apply(config, history_of({{"D", 0, {}}, {"E", 0, {}}, {"F", 0, {}}}), failed));
    CHECK(cache.drops() == 2);
    CHECK(cache.sensors() == 3);

    // With W = 1 tasks name no sensor; the windows a batch adds are dropped before the next.
    config.window = 1;
    REQUIRE(cache.apply(config, History{}, failed));
    cache.compute(
        config,
        std::vector<ReadingView>{{"A", 0, 1.0, "C"}, {"B", 0, 2.0, "C"}, {"C", 0, 3.0, "C"}}, out);
    CHECK(cache.sensors() == 3);
    REQUIRE(cache.apply(config, History{}, failed));
    CHECK(cache.sensors() == 0);
    CHECK(cache.drops() == 3);
}
