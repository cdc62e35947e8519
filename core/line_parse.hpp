// Line parsers for the text inputs of SPEC §2: CSV (with or without header) and JSON Lines.
// One parser per format, shared by every source (files, stdin, TCP connections), so validation is
// identical everywhere. Parsers never throw and never read outside the given line.
#pragma once

#include "core/record.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sluice::core {

enum class InputFormat : std::uint8_t { csv, jsonl };

// "csv" or "jsonl"; nullopt for anything else.
[[nodiscard]] std::optional<InputFormat> input_format_from_name(std::string_view name) noexcept;
[[nodiscard]] std::string_view input_format_name(InputFormat format) noexcept;

// Why a line was refused. `reason` points to static text, e.g. "value is not a number".
struct LineError {
    std::string_view reason;
};

// Column positions of a CSV input. `unit` is -1 when the input has no unit column.
struct CsvColumns {
    int sensor_id = 0;
    int timestamp = 1;
    int value = 2;
    int unit = 3;
    int count = 4; // number of columns in the header (informational)

    // The fixed order of headerless CSV lines (TCP listener): sensorId,timestamp,value[,unit].
    [[nodiscard]] static CsvColumns positional() noexcept { return CsvColumns{}; }
};

// Parses a CSV header line (columns in any order, extra columns ignored; names are matched exactly
// after trimming spaces and an optional UTF-8 BOM). Fails when sensorId, timestamp or value is
// missing or a name is duplicated.
[[nodiscard]] std::optional<LineError> parse_csv_header(std::string_view line, CsvColumns& out);

// Parses one CSV data line (RFC 4180 quoting within the line; a trailing '\r' is ignored) into
// `out`, validating it (core::validate). A missing or empty unit takes `default_unit`. With
// positional columns, the unit column is optional and extra columns are ignored.
[[nodiscard]] std::optional<LineError> parse_csv_line(const CsvColumns& columns,
                                                      std::string_view line,
                                                      std::string_view default_unit, Reading& out);

// Parses one JSON Lines object (keys sensorId, timestamp, value, unit; other keys of any JSON type
// are ignored; a trailing '\r' is ignored) into `out`, validating it. Numbers must be JSON numbers
// and strings JSON strings: "12" for a value is a wrong type.
[[nodiscard]] std::optional<LineError> parse_json_line(std::string_view line,
                                                       std::string_view default_unit, Reading& out);

// Dispatches on `format`; `columns` is used for CSV only.
[[nodiscard]] std::optional<LineError> parse_line(InputFormat format, const CsvColumns& columns,
                                                  std::string_view line,
                                                  std::string_view default_unit, Reading& out);

// Clinger's fast path for the common number: a plain decimal ("-12.034", "7") of at most 19
// digits whose digits, read as one integer w, are at most 2^53. Then w and 10^k (k <= 18 digits
// after the point) are exact doubles, and w / 10^k, one correctly rounded division, is the double
// std::from_chars returns. False, with `out` untouched, for any other text (exponents, more digits,
// a point without digits on both sides, signs other than one leading '-'): std::from_chars decides
// those.
[[nodiscard]] bool plain_decimal_to_double(std::string_view text, double& out) noexcept;

// Appends `raw` to `out` as the body of a JSON string (quotes not included): escapes '"', '\\'
// and control characters, and writes bytes that are not valid UTF-8 as \u00XX, so that the result
// is always valid JSON whatever the input bytes were.
void append_json_escaped(std::string& out, std::string_view raw);

} // namespace sluice::core
