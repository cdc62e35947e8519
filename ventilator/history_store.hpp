// The values the ventilator keeps so that it can give any batch it still holds its history: for
// each sensor of the batch, the last W-1 values of that sensor before the batch in the order.
//
// Histories used to be encoded when a batch was accepted and kept with it until it was written,
// so the ventilator held one copy of W-1 values per sensor per batch in flight: with 1,000
// sensors and a window of 1,000 that was 8 MB per batch and ~1 GB for 64 batches in flight. The
// store instead keeps each sensor's values once, from W-1 before the oldest held batch that names
// the sensor to the newest, and a batch keeps only, per sensor, where its history ends. A history
// is encoded when the batch is sent to a worker (and again if it is sent again), from the same
// values: the same bytes either way.
#pragma once

#include "core/codec.hpp"
#include "core/id_index.hpp"
#include "core/record.hpp"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sluice::ventilator {

class HistoryStore {
public:
    class Sensor;
    // One sensor of a batch: its history is the `keep` values before the sensor's `end`-th
    // (fewer at the start).
    struct Entry {
        Sensor* sensor = nullptr;
        std::uint64_t end = 0;
        std::uint32_t readings = 0; // the sensor's readings in the batch
    };

    // What the ventilator assumes one worker's windows hold: per sensor, the count of its
    // readings the worker has seen, as of the last task sent to it. Wrong assumptions cost a
    // refused task, never wrong output: the worker checks every entry (WindowCache::apply).
    class Peer {
    public:
        void forget() noexcept { m_at.clear(); }
        [[nodiscard]] std::size_t sensors() const noexcept { return m_at.size(); }
        // Tasks before which the worker drops every window to keep to `kept_windows`.
        [[nodiscard]] std::uint64_t drops() const noexcept { return m_drops; }

    private:
        friend class HistoryStore;
        std::unordered_map<const Sensor*, std::uint64_t> m_at;
        std::uint64_t m_drops = 0;
    };

    // `keep` is W-1: the most values a history holds. `kept_windows` is the job's limit on the
    // sensors whose windows a worker keeps (core::JobConfig::kept_windows, 0 = none).
    explicit HistoryStore(std::size_t keep, std::uint64_t kept_windows = 0)
        : m_keep(keep), m_kept_windows(kept_windows) {}

    // Takes the next batch in the order: appends to `out` an entry for each distinct sensor of
    // `readings` (in order of first appearance), then adds their values. The batch holds its
    // sensors' values until release().
    void accept(std::span<const core::ReadingView> readings, std::vector<Entry>& out);

    // Adds the batch's history (one entry per sensor, as accept() gave them) to `encoder`: for
    // each sensor its last W-1 values before the batch, or, for a `peer` whose window of it
    // is assumed to be at a later count, only the values after that count. Then assumes that
    // the peer computes the batch. When the peer's windows plus the batch's sensors it lacks
    // would exceed `kept_windows`, first assumes it drops them all, as core::WindowCache::apply
    // does: the same rule on both sides, so every entry is then a whole history.
    void encode(std::span<const Entry> entries, core::HistoryEncoder& encoder,
                Peer* peer = nullptr) const;

    // The batch of `entries` is written and will never be sent again. Batches are released in
    // the order they were accepted.
    void release(std::span<const Entry> entries) noexcept;

    // Values held over all sensors, and sensors seen (the ventilator's metrics).
    [[nodiscard]] std::size_t values_held() const noexcept { return m_values_held; }
    [[nodiscard]] std::size_t sensors() const noexcept { return m_sensors.size(); }

    class Sensor {
    public:
        explicit Sensor(std::string_view id) : m_id(id) {}
        [[nodiscard]] std::string_view id() const noexcept { return m_id; }

    private:
        friend class HistoryStore;
        // Values [m_end - held(), m_end) of this sensor's m_end so far, at m_values[m_begin..].
        [[nodiscard]] std::size_t held() const noexcept { return m_values.size() - m_begin; }

        std::string m_id;
        std::vector<double> m_values;
        std::size_t m_begin = 0;
        std::uint64_t m_end = 0;
        // Where the history of each held batch that names this sensor ends, oldest first (a FIFO
        // over m_pins[m_pin_begin..]).
        std::vector<std::uint64_t> m_pins;
        std::size_t m_pin_begin = 0;
        std::uint64_t m_stamp = 0; // accept() call that last gave this sensor an entry, plus one
        std::size_t m_entry = 0;   // that entry's index in accept()'s output
    };

private:
    Sensor& find_or_add(std::string_view id);
    void trim(Sensor& s) noexcept;

    std::size_t m_keep;
    std::uint64_t m_kept_windows;
    std::uint64_t m_accepted = 0;
    std::size_t m_values_held = 0;
    // Entries point at sensors, which never move.
    std::vector<std::unique_ptr<Sensor>> m_sensors;
    core::IdIndex m_index; // positions in m_sensors
};

} // namespace sluice::ventilator
