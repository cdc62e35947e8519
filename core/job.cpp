#include "core/job.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <vector>

namespace sluice::core {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
        s.remove_suffix(1);
    return s;
}

// Calibration files are small and hand-written: plain comma separation, optional double quotes.
std::vector<std::string> split(std::string_view line) {
    std::vector<std::string> fields;
    std::size_t start = 0;
    while (true) {
        const std::size_t comma = line.find(',', start);
        std::string_view f =
            trim(line.substr(start, comma == std::string_view::npos ? line.npos : comma - start));
        if (f.size() >= 2 && f.front() == '"' && f.back() == '"') f = f.substr(1, f.size() - 2);
        fields.emplace_back(f);
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return fields;
}

bool parse_number(std::string_view s, double& out) {
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc{} && end == s.data() + s.size() && std::isfinite(out);
}

} // namespace

std::uint64_t kept_windows_for(std::uint64_t mib, std::uint32_t window) noexcept {
    const std::uint64_t per_sensor = 16 * std::uint64_t{window} + 160;
    return std::max<std::uint64_t>(1, (mib << 20) / per_sensor);
}

CalibrationTable load_calibration(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot open calibration file '" + path + "'");
    auto bad = [&](std::size_t line_no, const std::string& why) {
        return std::runtime_error("calibration file '" + path + "' line " +
                                  std::to_string(line_no) + ": " + why);
    };
    std::string line;
    if (!std::getline(in, line)) throw bad(1, "missing header sensorId,offset,scale");
    if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    const auto header = split(line);
    int id_col = -1, offset_col = -1, scale_col = -1;
    for (std::size_t i = 0; i < header.size(); ++i) {
        if (header[i] == "sensorId") id_col = static_cast<int>(i);
        if (header[i] == "offset") offset_col = static_cast<int>(i);
        if (header[i] == "scale") scale_col = static_cast<int>(i);
    }
    if (id_col < 0 || offset_col < 0 || scale_col < 0)
        throw bad(1, "header must name sensorId, offset and scale");
    const auto needed = static_cast<std::size_t>(std::max({id_col, offset_col, scale_col})) + 1;

    CalibrationTable table;
    std::size_t line_no = 1;
    while (std::getline(in, line)) {
        ++line_no;
        if (trim(line).empty()) continue;
        const auto f = split(line);
        if (f.size() < needed) throw bad(line_no, "expected sensorId, offset and scale");
        const std::string& id = f[static_cast<std::size_t>(id_col)];
        Calibration cal;
        if (id.empty()) throw bad(line_no, "sensorId is empty");
        if (!parse_number(f[static_cast<std::size_t>(offset_col)], cal.offset))
            throw bad(line_no, "offset is not a finite number");
        if (!parse_number(f[static_cast<std::size_t>(scale_col)], cal.scale))
            throw bad(line_no, "scale is not a finite number");
        if (cal.scale == 0.0) throw bad(line_no, "scale is 0 for sensor '" + id + "'");
        if (!table.emplace(id, cal).second)
            throw bad(line_no, "sensor '" + id + "' is listed twice");
    }
    return table;
}

} // namespace sluice::core
