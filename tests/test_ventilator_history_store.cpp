#include "core/codec.hpp"
#include "core/features.hpp"
#include "ventilator/history_store.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <span>
#include <string>
#include <vector>

using sluice::core::ReadingView;
using sluice::ventilator::HistoryStore;

namespace {

// A batch as the test keeps it: its readings (the ids live in `ids`), the store's entries, and
// the expected history computed independently: every value of every sensor ever accepted, in
// order, from which the last `keep` before the batch are taken.
struct HeldBatch {
    std::vector<ReadingView> readings;
    std::vector<HistoryStore::Entry> entries;
    std::map<std::string, std::vector<double>> expected;
};

std::map<std::string, std::vector<double>> decoded(const HistoryStore& store,
                                                   const HeldBatch& batch, std::size_t keep) {
    std::string payload;
    sluice::core::HistoryEncoder encoder(payload);
    store.encode(batch.entries, encoder);
    encoder.finish();
    sluice::core::History history;
    sluice::core::DecodeError error;
    REQUIRE(sluice::core::decode_history(payload, keep, history, error));
    std::map<std::string, std::vector<double>> out;
    for (const auto& e : history.entries) {
        auto& v = out[std::string(e.sensor_id)];
        REQUIRE(v.empty()); // each sensor once
        v.assign(history.values.begin() + static_cast<std::ptrdiff_t>(e.first),
                 history.values.begin() + static_cast<std::ptrdiff_t>(e.first + e.count));
    }
    return out;
}

} // namespace

TEST_CASE("history store: every held batch's history, whenever it is encoded, is the last W-1 "
          "values of each of its sensors before it",
          "[ventilator]") {
    const std::size_t keep = GENERATE(1u, 4u, 49u);
    const std::size_t sensors = GENERATE(3u, 200u);
    std::mt19937_64 rng(keep * 1000 + sensors);
    std::vector<std::string> ids;
    for (std::size_t i = 0; i < sensors; ++i) ids.push_back("s" + std::to_string(i));

    HistoryStore store(keep);
    std::map<std::string, std::vector<double>> all; // every value so far, per sensor
    std::deque<HeldBatch> held;
    std::uint64_t encodes = 0;
    double next_value = 0.5;
    for (int step = 0; step < 600; ++step) {
        // Accept a batch of 1 to 300 readings (so up to ~60 batches are held at once) ...
        HeldBatch b;
        const std::size_t n = 1 + rng() % 300;
        for (std::size_t i = 0; i < n; ++i) {
            // a skewed choice: a few sensors are in almost every batch, most are rare
            const std::size_t k =
                std::min<std::size_t>(sensors - 1, rng() % sensors * (rng() % 4) / 3);
            b.readings.push_back(ReadingView{ids[k], 0.0, next_value, "C"});
            next_value += 1.0;
        }
        for (const auto& r : b.readings) {
            const auto& v = all[std::string(r.sensor_id)];
            auto& e = b.expected[std::string(r.sensor_id)];
            if (e.empty() && !v.empty()) { // the values before the batch, not its own
                e.assign(v.end() - static_cast<std::ptrdiff_t>(std::min(keep, v.size())), v.end());
            }
        }
        for (const auto& r : b.readings) all[std::string(r.sensor_id)].push_back(r.value);
        // (sensors new in the batch have an empty history, named all the same)
        for (const auto& r : b.readings) b.expected.try_emplace(std::string(r.sensor_id));
        store.accept(b.readings, b.entries);
        REQUIRE(b.entries.size() == b.expected.size());
        held.push_back(std::move(b));

        // ... encode a few held batches, old ones too (a re-dispatch) ...
        for (int i = 0; i < 3; ++i) {
            const HeldBatch& some = held[rng() % held.size()];
            CHECK(decoded(store, some, keep) == some.expected);
            ++encodes;
        }
        // ... and release the oldest ones, in order, as the sink commits them.
        std::size_t release = held.size() > 60 ? held.size() - 60 : rng() % 3;
        while (release-- > 0 && !held.empty()) {
            CHECK(decoded(store, held.front(), keep) == held.front().expected);
            store.release(held.front().entries);
            held.pop_front();
        }
    }
    CHECK(encodes > 0);
    // Memory: with nothing held, each sensor keeps at most its last W-1 values.
    while (!held.empty()) {
        store.release(held.front().entries);
        held.pop_front();
    }
    std::size_t bound = 0;
    for (const auto& [id, v] : all) bound += std::min(keep, v.size());
    CHECK(store.values_held() == bound);
    CHECK(store.sensors() == all.size());
}

TEST_CASE("history store: memory follows the values held batches need, not the batches times the "
          "window",
          "[ventilator]") {
    // 100 sensors, W-1 = 999, 50 batches of 1,000 readings held: one copy per batch would be
    // 50 x 100 x 999 values; the store holds each sensor's last 999 values before the oldest held
    // batch plus the 50,000 held readings.
    const std::size_t keep = 999;
    HistoryStore store(keep);
    std::vector<std::string> ids;
    for (int i = 0; i < 100; ++i) ids.push_back("s" + std::to_string(i));
    std::deque<std::vector<HistoryStore::Entry>> held;
    std::vector<ReadingView> batch;
    double v = 0;
    for (int b = 0; b < 200; ++b) {
        batch.clear();
        for (int i = 0; i < 1000; ++i) batch.push_back(ReadingView{ids[i % 100], 0.0, v++, "C"});
        store.accept(batch, held.emplace_back());
        if (held.size() > 50) {
            store.release(held.front());
            held.pop_front();
        }
    }
    CHECK(store.values_held() <= 100 * keep + 50 * 1000 + 100);
    CHECK(store.values_held() >= 100 * keep + 49 * 1000);
}

TEST_CASE("history store: a window of one value keeps nothing", "[ventilator]") {
    HistoryStore store(0);
    std::vector<HistoryStore::Entry> entries;
    const std::vector<ReadingView> batch = {{"a", 0.0, 1.0, "C"}, {"b", 0.0, 2.0, "C"}};
    store.accept(batch, entries);
    CHECK(entries.empty());
    CHECK(store.values_held() == 0);
    store.release(entries);
}

namespace {

bool same_features(const sluice::core::Features& a, const sluice::core::Features& b) {
    return a.normalized == b.normalized && a.feature == b.feature &&
           a.window_count == b.window_count && a.window_mean == b.window_mean &&
           a.window_std == b.window_std && a.window_min == b.window_min &&
           a.window_max == b.window_max && a.zscore == b.zscore && a.heavy == b.heavy;
}

// One simulated worker: the windows it keeps, and what the ventilator assumes of them.
struct SimWorker {
    sluice::core::WindowCache windows;
    HistoryStore::Peer assumed;
};

} // namespace

TEST_CASE("history deltas: workers that keep their windows compute exactly what one pass over the "
          "whole stream computes, through lost tasks, re-sent batches and restarts",
          "[ventilator]") {
    using sluice::core::Features;
    const std::uint32_t window = GENERATE(5u, 50u);
    // 40: fewer than the stream's sensors, so workers drop their windows now and then as well.
    const std::uint64_t kept = GENERATE(0u, 40u);
    sluice::core::JobConfig config;
    config.window = window;
    config.kept_windows = kept;
    const std::size_t keep = window - 1;
    std::mt19937_64 rng(window + kept);

    // The stream: 300 sensors, a few frequent, most rare.
    std::vector<std::string> ids;
    for (int i = 0; i < 300; ++i) ids.push_back("sensor-" + std::to_string(i));
    std::vector<ReadingView> stream;
    std::normal_distribution<double> value(50.0, 15.0);
    for (int i = 0; i < 20000; ++i) {
        const std::size_t k = (rng() % 4 == 0) ? rng() % 300 : rng() % 12;
        stream.push_back(ReadingView{ids[k], 0.0, value(rng), "C"});
    }
    // The reference: the whole stream as one batch (compute_features is checked against a naive
    // computation in test_core_features).
    std::vector<Features> whole;
    sluice::core::compute_features(config, stream, sluice::core::History{}, whole);

    HistoryStore store(keep, kept);
    std::vector<SimWorker> workers(3);
    struct Held {
        std::size_t start = 0, len = 0;
        std::vector<HistoryStore::Entry> entries;
    };
    std::deque<Held> held;
    std::uint64_t refused = 0, lost = 0, resent = 0, restarted = 0;
    std::uint64_t values_sent = 0, values_whole = 0;
    sluice::core::History history;
    std::vector<Features> got;

    // Sends a held batch to worker k as the ventilator would, and checks what the worker computes.
    auto deliver = [&](const Held& b, std::size_t k) {
        SimWorker& w = workers[k];
        for (int attempt = 0;; ++attempt) {
            REQUIRE(attempt < 2); // after a refusal, whole histories are always accepted
            std::string payload;
            sluice::core::HistoryEncoder encoder(payload);
            store.encode(b.entries, encoder, &w.assumed);
            encoder.finish();
            sluice::core::DecodeError error;
            REQUIRE(sluice::core::decode_history(payload, keep, history, error));
            std::size_t failed = 0;
            if (!w.windows.apply(config, history, failed)) {
                ++refused;
                w.assumed.forget();
                w.windows.clear(); // as sluice-worker does when it refuses
                continue;
            }
            for (const auto& e : b.entries) values_whole += std::min<std::uint64_t>(keep, e.end);
            values_sent += history.values.size();
            const std::span<const ReadingView> readings(stream.data() + b.start, b.len);
            w.windows.compute(config, readings, got);
            REQUIRE(got.size() == b.len);
            for (std::size_t i = 0; i < b.len; ++i) {
                INFO("reading " << b.start + i << " at worker " << k << ", attempt " << attempt);
                REQUIRE(same_features(got[i], whole[b.start + i]));
            }
            return;
        }
    };

    for (std::size_t start = 0; start < stream.size();) {
        Held b;
        b.start = start;
        b.len = std::min<std::size_t>(1 + rng() % 200, stream.size() - start);
        store.accept(std::span(stream).subspan(b.start, b.len), b.entries);
        start += b.len;
        const std::size_t k = rng() % workers.size();
        const auto dice = rng() % 100;
        if (dice < 4) {
            // Lost on the way to worker k (a cut link): k's assumptions now run ahead of its
            // windows; the batch goes to the next worker.
            std::string payload;
            sluice::core::HistoryEncoder encoder(payload);
            store.encode(b.entries, encoder, &workers[k].assumed);
            ++lost;
            deliver(b, (k + 1) % workers.size());
        } else if (dice < 6) {
            // Worker k restarted with nothing kept, and the ventilator was not told.
            workers[k].windows.clear();
            ++restarted;
            deliver(b, k);
        } else {
            deliver(b, k);
        }
        held.push_back(std::move(b));
        if (rng() % 20 == 0) {
            // A held batch sent again (its result was lost): possibly older than the windows of
            // the worker that gets it.
            deliver(held[rng() % held.size()], rng() % workers.size());
            ++resent;
        }
        while (held.size() > 40) {
            store.release(held.front().entries);
            held.pop_front();
        }
    }
    CHECK(lost > 0);
    CHECK(restarted > 0);
    CHECK(resent > 0);
    CHECK(refused > 0);
    // The point of it: never more values than whole histories, and with a window longer than what
    // a worker misses between its tasks, less than half.
    INFO("values sent " << values_sent << ", whole histories " << values_whole);
    CHECK(values_sent <= values_whole);
    if (window == 50 && kept == 0) CHECK(values_sent * 2 < values_whole);
}

TEST_CASE("kept windows: the ventilator knows when a worker drops its windows, so a worker's "
          "memory stays bounded and no task is refused",
          "[ventilator]") {
    using sluice::core::Features;
    const std::uint64_t kept = GENERATE(1u, 25u, 120u);
    const std::uint32_t window = 20;
    sluice::core::JobConfig config;
    config.window = window;
    config.kept_windows = kept;
    const std::size_t keep = window - 1;
    std::mt19937_64 rng(kept);

    // 200 sensors, a few frequent and most rare, so windows are both reused and dropped.
    std::vector<std::string> ids;
    for (int i = 0; i < 200; ++i) ids.push_back("s" + std::to_string(i));
    std::vector<ReadingView> stream;
    for (int i = 0; i < 12000; ++i) {
        const std::size_t k = (rng() % 3 == 0) ? rng() % 200 : rng() % 8;
        stream.push_back(ReadingView{ids[k], 0.0, static_cast<double>(rng() % 1000) / 8.0, "C"});
    }
    std::vector<Features> whole;
    sluice::core::compute_features(config, stream, sluice::core::History{}, whole);

    HistoryStore store(keep, kept);
    std::vector<SimWorker> workers(2);
    std::vector<HistoryStore::Entry> entries;
    sluice::core::History history;
    std::vector<Features> got;
    std::size_t most_sensors_in_a_batch = 0;
    std::uint64_t deltas = 0;
    for (std::size_t start = 0; start < stream.size();) {
        const std::size_t len = std::min<std::size_t>(1 + rng() % 60, stream.size() - start);
        const auto readings = std::span(stream).subspan(start, len);
        entries.clear();
        store.accept(readings, entries);
        most_sensors_in_a_batch = std::max(most_sensors_in_a_batch, entries.size());
        SimWorker& w = workers[rng() % workers.size()];
        std::string payload;
        sluice::core::HistoryEncoder encoder(payload);
        store.encode(entries, encoder, &w.assumed);
        encoder.finish();
        sluice::core::DecodeError error;
        REQUIRE(sluice::core::decode_history(payload, keep, history, error));
        for (const auto& e : history.entries)
            deltas += e.count < std::min<std::uint64_t>(keep, e.end);
        std::size_t failed = 0;
        INFO("batch from reading " << start);
        REQUIRE(w.windows.apply(config, history, failed)); // never refused
        w.windows.compute(config, readings, got);
        for (std::size_t i = 0; i < len; ++i) REQUIRE(same_features(got[i], whole[start + i]));
        // Both sides count the same windows: the limit, or one batch's sensors past a drop.
        REQUIRE(w.windows.sensors() == w.assumed.sensors());
        REQUIRE(w.windows.sensors() <= std::max<std::size_t>(kept, entries.size()));
        REQUIRE(w.windows.drops() == w.assumed.drops());
        start += len;
        store.release(entries);
    }
    for (const SimWorker& w : workers) CHECK(w.windows.drops() > 0);
    CHECK(most_sensors_in_a_batch > 1);
    if (kept > 1) CHECK(deltas > 0); // windows were reused between drops
}
