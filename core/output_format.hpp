// Output records (SPEC §5): JSON Lines, CSV with a header, or a stream of msgpack maps. Each record
// holds sensorId,timestamp,value,unit then the features in the order of SPEC §4. Numbers are
// written in the shortest form that reads back to the same double. Workers format records (the
// costly part of output), the sink only concatenates them.
#pragma once

#include "core/record.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sluice::core {

enum class OutputFormat : std::uint8_t { jsonl = 0, csv = 1, msgpack = 2 };

// "jsonl", "csv" or "msgpack"; nullopt for anything else.
[[nodiscard]] std::optional<OutputFormat> output_format_from_name(std::string_view name) noexcept;
[[nodiscard]] std::string_view output_format_name(OutputFormat format) noexcept;

// The format implied by a path's extension (.jsonl/.json/.ndjson, .csv, .msgpack/.mpk); jsonl for
// anything else, including "-".
[[nodiscard]] OutputFormat output_format_for_path(std::string_view path) noexcept;

// The CSV header line, newline included. `with_heavy` adds the heavy column.
[[nodiscard]] std::string csv_header(bool with_heavy);

// Appends the shortest decimal that reads back to exactly `v` (core/shortest.hpp: the bytes
// std::to_chars writes). Non-finite values (only reachable through overflow of extreme inputs) are
// written as `null` (JSON), an empty field (CSV) or as msgpack float64 (msgpack keeps them).
void append_shortest(std::string& out, double v);

// Appends one complete record (with its trailing newline for jsonl and csv). `with_heavy` adds the
// heavy field after zscore.
void append_record(std::string& out, OutputFormat format, const ReadingView& reading,
                   const Features& features, bool with_heavy);

} // namespace sluice::core
