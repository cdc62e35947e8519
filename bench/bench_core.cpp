// Micro-benchmarks of the per-record hot paths: parsing, the msgpack codec, the feature kernels
// and output formatting. Rates are in records per second (items_per_second).
#include "core/codec.hpp"
#include "core/features.hpp"
#include "core/line_parse.hpp"
#include "core/output_format.hpp"
#include "core/shortest.hpp"

#include <benchmark/benchmark.h>
#include <charconv>
#include <cmath>
#include <random>

namespace {

using namespace sluice::core;

constexpr std::size_t k_batch = 1000;

std::vector<Reading> make_readings(std::size_t n, std::size_t sensors) {
    std::mt19937_64 rng(42);
    std::normal_distribution<double> value(50.0, 15.0);
    std::vector<Reading> out(n);
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = Reading{"S" + std::to_string(i % sensors),
                         1700000000.0 + static_cast<double>(i) * 0.001, value(rng), "C"};
    }
    return out;
}

std::vector<ReadingView> views_of(const std::vector<Reading>& readings) {
    std::vector<ReadingView> v;
    for (const auto& r : readings) v.push_back({r.sensor_id, r.timestamp, r.value, r.unit});
    return v;
}

void BM_parse_csv_line(benchmark::State& state) {
    const std::string line = "S42,1700000000.123,48.91731250963423,C";
    const CsvColumns columns;
    Reading r;
    for (auto _ : state) benchmark::DoNotOptimize(parse_csv_line(columns, line, "C", r));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_parse_csv_line);

void BM_parse_json_line(benchmark::State& state) {
    const std::string line =
        R"({"sensorId":"S42","timestamp":1700000000.123,"value":48.91731250963423,"unit":"C"})";
    Reading r;
    for (auto _ : state) benchmark::DoNotOptimize(parse_json_line(line, "C", r));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_parse_json_line);

void BM_encode_readings(benchmark::State& state) {
    const auto readings = make_readings(k_batch, 100);
    std::string out;
    for (auto _ : state) {
        out.clear();
        encode_readings(out, readings);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(k_batch));
}
BENCHMARK(BM_encode_readings);

void BM_decode_readings(benchmark::State& state) {
    std::string payload;
    encode_readings(payload, make_readings(k_batch, 100));
    std::vector<ReadingView> views;
    DecodeError error;
    for (auto _ : state) benchmark::DoNotOptimize(decode_readings(payload, views, error));
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(k_batch));
}
BENCHMARK(BM_decode_readings);

// The history of one batch in the steady state (every sensor of the batch has W-1 = 49 values),
// for 100 sensors (~10 readings each per batch of 1,000) and 1,000 (~1 each): written by the
// ventilator, read by a worker. Items are the batch's readings.
History steady_history(std::size_t sensors, std::vector<std::string>& ids) {
    History history;
    ids.clear();
    for (std::size_t s = 0; s < sensors; ++s) ids.push_back("S" + std::to_string(s));
    for (std::size_t s = 0; s < sensors; ++s) {
        history.entries.push_back({ids[s], history.values.size(), 49, 4900});
        for (int i = 0; i < 49; ++i) history.values.push_back(50.0 + 0.37 * i + 1e-3 * s);
    }
    return history;
}

void BM_encode_history(benchmark::State& state) {
    std::vector<std::string> ids;
    const History history = steady_history(static_cast<std::size_t>(state.range(0)), ids);
    std::string payload;
    for (auto _ : state) {
        payload.clear();
        encode_history(payload, history);
        benchmark::DoNotOptimize(payload.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(k_batch));
    state.counters["bytes"] = static_cast<double>(payload.size());
}
BENCHMARK(BM_encode_history)->Arg(100)->Arg(1000);

void BM_decode_history(benchmark::State& state) {
    std::vector<std::string> ids;
    std::string payload;
    encode_history(payload, steady_history(static_cast<std::size_t>(state.range(0)), ids));
    History out;
    DecodeError error;
    for (auto _ : state) benchmark::DoNotOptimize(decode_history(payload, 49, out, error));
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(k_batch));
}
BENCHMARK(BM_decode_history)->Arg(100)->Arg(1000);

// Features of one batch with full history (the steady state: every sensor has W-1 values).
void BM_compute_features(benchmark::State& state) {
    const auto sensors = static_cast<std::size_t>(state.range(0));
    JobConfig config;
    config.heavy = static_cast<std::uint32_t>(state.range(1));
    const auto readings = make_readings(k_batch, sensors);
    const auto views = views_of(readings);
    History history;
    std::vector<std::string> ids;
    for (std::size_t s = 0; s < sensors; ++s) ids.push_back("S" + std::to_string(s));
    for (std::size_t s = 0; s < sensors; ++s) {
        history.entries.push_back({ids[s], history.values.size(), config.window - 1, 4900});
        for (std::uint32_t i = 0; i + 1 < config.window; ++i) history.values.push_back(50.0 + i);
    }
    std::vector<Features> out;
    for (auto _ : state) {
        compute_features(config, views, history, out);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(k_batch));
}
BENCHMARK(BM_compute_features)->Args({100, 0})->Args({1000, 0})->Args({100, 100});

void BM_window_stats_50(benchmark::State& state) {
    std::vector<double> w(50);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] = 50.0 + static_cast<double>(i % 7);
    for (auto _ : state) benchmark::DoNotOptimize(window_stats(w));
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_window_stats_50);

void BM_format(benchmark::State& state) {
    const auto format = static_cast<OutputFormat>(state.range(0));
    const auto readings = make_readings(k_batch, 100);
    const auto views = views_of(readings);
    Features f{0.51234567890123, 2.9876543210987, 50, 49.87654321, 14.9876543, 12.3456789,
               88.7654321,       -0.123456789,    0};
    std::string out;
    for (auto _ : state) {
        out.clear();
        for (const auto& v : views) append_record(out, format, v, f, false);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(k_batch));
    state.SetLabel(std::string(output_format_name(format)));
}
BENCHMARK(BM_format)->Arg(0)->Arg(1)->Arg(2);

// JSON Lines of a stream with its real features (100 sensors, window 50): the window extremes
// repeat as they do in a run, unlike BM_format's one constant record. 200,000 records per
// iteration, so the numbers of one iteration are not all still cached in the next.
void BM_format_stream(benchmark::State& state) {
    const auto readings = make_readings(200000, 100);
    const auto views = views_of(readings);
    std::vector<Features> features;
    compute_features(JobConfig{}, views, History{}, features);
    // The output's pages are faulted in before timing: one iteration can take all the time, and
    // growing 62 MB of string inside it would be measured instead of formatting.
    std::string out(views.size() * 320, '\0');
    for (auto _ : state) {
        out.clear();
        for (std::size_t i = 0; i < views.size(); ++i) {
            append_record(out, OutputFormat::jsonl, views[i], features[i], false);
        }
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(views.size()));
}
BENCHMARK(BM_format_stream);

// One shortest double, by core::write_shortest (0) and by std::to_chars (1), the oracle it
// matches byte for byte: 4,096 values as a record has them (a reading, its normalised value and
// feature, a timestamp), in turn.
void BM_shortest(benchmark::State& state) {
    std::mt19937_64 rng(3);
    std::normal_distribution<double> value(50.0, 15.0);
    std::vector<double> values(4096);
    for (std::size_t i = 0; i < values.size(); i += 4) {
        const double v = value(rng);
        values[i] = v;
        values[i + 1] = (v - 20) / 60;
        values[i + 2] = std::sqrt(std::abs(values[i + 1])) * std::log(std::abs(v) + 1);
        values[i + 3] = 1700000000.0 + static_cast<double>(i) * 0.001;
    }
    const bool library = state.range(0) == 1;
    char buf[64];
    std::size_t i = 0;
    for (auto _ : state) {
        const double v = values[i++ & (values.size() - 1)];
        char* end = library ? std::to_chars(buf, buf + sizeof buf, v).ptr : write_shortest(buf, v);
        benchmark::DoNotOptimize(end);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(state.iterations());
    state.SetLabel(library ? "std::to_chars" : "write_shortest");
}
BENCHMARK(BM_shortest)->Arg(0)->Arg(1);

} // namespace
