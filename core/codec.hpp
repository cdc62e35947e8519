// msgpack payloads carried in the data frames of the protocol (docs/PROTOCOL.md):
//   readings  array of [sensorId:str, timestamp:float64, value:float64, unit:str]
//   history   array of [sensorId:str, end:uint, values:bin of little-endian float64 (oldest
//             first)]: the sensor's readings end-n .. end-1 in the order, n = the bin's values
//   config    array [window:uint, heavy:uint, format:uint, kept_windows:uint, calibration:array
//             of [id:str, offset, scale]]
// Encoding uses msgpack-cxx's packer; decoding uses MsgReader and checks every type and length, so
// any byte string yields either a decoded value or an error, never undefined behaviour.
#pragma once

#include "core/job.hpp"
#include "core/record.hpp"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sluice::core {

// The reason a payload was refused, naming the element, e.g. "reading 3: value is not a number".
struct DecodeError {
    std::string what;
};

void encode_readings(std::string& out, std::span<const Reading> readings);

// Decodes and validates (core::validate) every reading; views point into `payload`. On error `out`
// holds an unspecified prefix and the whole payload must be dropped.
[[nodiscard]] bool decode_readings(std::string_view payload, std::vector<ReadingView>& out,
                                   DecodeError& error);

// The values a batch needs from before it, per sensor. `end` is how many readings of the sensor
// precede the batch in the order; the entry's values are the last `count` of them. An entry with
// count == min(W-1, end) is the sensor's whole history (a stateless worker needs nothing else);
// a shorter one continues a window the worker already holds at end - count (docs/PROTOCOL.md).
struct History {
    struct Entry {
        std::string_view sensor_id;
        std::size_t first = 0; // index into values
        std::size_t count = 0;
        std::uint64_t end = 0;
    };
    std::vector<Entry> entries;
    std::vector<double> values;

    void clear() noexcept {
        entries.clear();
        values.clear();
    }
};

// Writes a history payload one entry at a time, appending to `out`. Each entry's values are one
// msgpack bin of 8-byte little-endian IEEE 754 doubles: one copy to write and one to read, where an
// array of msgpack float64 costs a type byte and a byte swap per value (with 1,000 sensors a batch
// carries ~30 history values per reading). The entry count is patched into an array32 header
// reserved at the start, so entries can be added as they are found.
class HistoryEncoder {
public:
    explicit HistoryEncoder(std::string& out);
    // `end`: the sensor's readings before the batch; `values` are the last of them.
    void add(std::string_view sensor_id, std::uint64_t end, std::span<const double> values);
    // Completes the payload; nothing may be added after it.
    void finish() noexcept;

private:
    std::string& m_out;
    std::size_t m_header;
    std::uint32_t m_entries = 0;
};

// Appends the history payload: for each entry, its values as given.
void encode_history(std::string& out, const History& history);
// `max_values_per_sensor` bounds what a peer may make us allocate (W-1 of the job).
[[nodiscard]] bool decode_history(std::string_view payload, std::size_t max_values_per_sensor,
                                  History& out, DecodeError& error);

void encode_config(std::string& out, const JobConfig& config);
[[nodiscard]] bool decode_config(std::string_view payload, JobConfig& out, DecodeError& error);

} // namespace sluice::core
