// libFuzzer target for the line parsers: whatever the bytes, no crash, no read outside the line,
// and every reading a parser accepts passes core::validate.
#include "core/line_parse.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

bool is_valid(const sluice::core::Reading& r) {
    return sluice::core::validate(r.sensor_id, r.timestamp, r.value, r.unit) ==
           sluice::core::Invalid::none;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // A copy of exactly `size` bytes, so ASan catches any read past the end of the line.
    std::string buffer(reinterpret_cast<const char*>(data), size);
    const std::string_view line(buffer.data(), buffer.size());
    sluice::core::Reading reading;

    sluice::core::CsvColumns columns{9, 9, 9, 9, 9};
    const sluice::core::CsvColumns before = columns;
    if (!sluice::core::parse_csv_header(line, columns)) {
        require(columns.sensor_id >= 0 && columns.timestamp >= 0 && columns.value >= 0);
        require(columns.sensor_id < columns.count && columns.timestamp < columns.count &&
                columns.value < columns.count && columns.unit < columns.count);
        if (!sluice::core::parse_csv_line(columns, line, "u", reading)) require(is_valid(reading));
    } else {
        require(columns.sensor_id == before.sensor_id && columns.count == before.count);
    }

    if (!sluice::core::parse_csv_line(sluice::core::CsvColumns::positional(), line, "unit",
                                      reading)) {
        require(is_valid(reading));
    }
    if (!sluice::core::parse_json_line(line, "unit", reading)) require(is_valid(reading));

    std::string escaped;
    sluice::core::append_json_escaped(escaped, line);
    require(sluice::core::is_valid_utf8(escaped));
    for (const char ch : escaped) require(static_cast<unsigned char>(ch) >= 0x20);
    return 0;
}
