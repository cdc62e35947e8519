// msgpack payloads carried in the data frames of the protocol (docs/PROTOCOL.md):
//   readings  array of [sensorId:str, timestamp:float64, value:float64, unit:str]
//   history   array of [sensorId:str, values:array of float64 (oldest first)]
//   config    array [window:uint, heavy:uint, format:uint, calibration:array of [id:str, offset,
//   scale]]
// Encoding uses msgpack-cxx's packer; decoding uses MsgReader and checks every type and length, so
// any byte string yields either a decoded value or an error, never undefined behaviour.
#pragma once

#include "core/job.hpp"
#include "core/record.hpp"

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

// The values a batch needs from before it, per sensor: the last W-1 values in the order.
struct History {
    struct Entry {
        std::string_view sensor_id;
        std::size_t first = 0; // index into values
        std::size_t count = 0;
    };
    std::vector<Entry> entries;
    std::vector<double> values;

    void clear() noexcept {
        entries.clear();
        values.clear();
    }
};

// Writes the history payload: for each entry, its values as given.
void encode_history(std::string& out, const History& history);
// `max_values_per_sensor` bounds what a peer may make us allocate (W-1 of the job).
[[nodiscard]] bool decode_history(std::string_view payload, std::size_t max_values_per_sensor,
                                  History& out, DecodeError& error);

void encode_config(std::string& out, const JobConfig& config);
[[nodiscard]] bool decode_config(std::string_view payload, JobConfig& out, DecodeError& error);

} // namespace sluice::core
