#include "core/codec.hpp"

#include "core/msgpack_reader.hpp"
#include "core/msgpack_writer.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace sluice::core {

namespace {

bool fail(DecodeError& error, std::string what) {
    error.what = std::move(what);
    return false;
}

std::string at(std::string_view element, std::size_t index, std::string_view problem) {
    std::string s(element);
    s += ' ';
    s += std::to_string(index);
    s += ": ";
    s += problem;
    return s;
}

} // namespace

void encode_readings(std::string& out, std::span<const Reading> readings) {
    MsgWriter w(out);
    w.array(static_cast<std::uint32_t>(readings.size()));
    for (const Reading& r : readings) {
        w.array(4);
        w.str(r.sensor_id);
        w.float64(r.timestamp);
        w.float64(r.value);
        w.str(r.unit);
    }
}

bool decode_readings(std::string_view payload, std::vector<ReadingView>& out, DecodeError& error) {
    MsgReader r(payload);
    std::uint32_t n = 0;
    if (!r.read_array(n)) return fail(error, "readings: not an array");
    // Grow as elements prove to exist: a hostile count must not make us allocate for it.
    out.clear();
    out.reserve(std::min<std::uint32_t>(n, 4096));
    for (std::uint32_t i = 0; i < n; ++i) {
        std::uint32_t fields = 0;
        ReadingView& v = out.emplace_back();
        if (!r.read_array(fields) || fields != 4)
            return fail(error, at("reading", i, "not an array of 4"));
        if (!r.read_str(v.sensor_id))
            return fail(error, at("reading", i, "sensorId is not a string"));
        if (!r.read_double(v.timestamp))
            return fail(error, at("reading", i, "timestamp is not a number"));
        if (!r.read_double(v.value)) return fail(error, at("reading", i, "value is not a number"));
        if (!r.read_str(v.unit)) return fail(error, at("reading", i, "unit is not a string"));
        const Invalid why = validate(v.sensor_id, v.timestamp, v.value, v.unit);
        if (why != Invalid::none) return fail(error, at("reading", i, reason_text(why)));
    }
    if (!r.at_end()) return fail(error, "readings: trailing bytes");
    return true;
}

HistoryEncoder::HistoryEncoder(std::string& out) : m_out(out), m_header(out.size()) {
    m_out.append(5, '\0'); // array32: 0xDD and the count, both written by finish()
}

void HistoryEncoder::add(std::string_view sensor_id, std::uint64_t end,
                         std::span<const double> values) {
    MsgWriter w(m_out);
    w.array(3);
    w.str(sensor_id);
    w.uint(end);
    w.bin_header(static_cast<std::uint32_t>(values.size() * sizeof(double)));
    if constexpr (std::endian::native == std::endian::little) {
        if (!values.empty()) { // an empty span's data() may be null
            m_out.append(reinterpret_cast<const char*>(values.data()),
                         values.size() * sizeof(double));
        }
    } else {
        for (const double v : values) {
            const std::uint64_t le = __builtin_bswap64(std::bit_cast<std::uint64_t>(v));
            m_out.append(reinterpret_cast<const char*>(&le), sizeof le);
        }
    }
    ++m_entries;
}

void HistoryEncoder::finish() noexcept {
    char* const p = m_out.data() + m_header;
    p[0] = static_cast<char>(0xDD);
    for (int i = 0; i < 4; ++i) p[1 + i] = static_cast<char>(m_entries >> (8 * (3 - i)));
}

void encode_history(std::string& out, const History& history) {
    HistoryEncoder encoder(out);
    for (const auto& e : history.entries) {
        encoder.add(e.sensor_id, e.end, std::span(history.values).subspan(e.first, e.count));
    }
    encoder.finish();
}

bool decode_history(std::string_view payload, std::size_t max_values_per_sensor, History& out,
                    DecodeError& error) {
    out.clear();
    MsgReader r(payload);
    std::uint32_t n = 0;
    if (!r.read_array(n)) return fail(error, "history: not an array");
    out.entries.reserve(std::min<std::uint32_t>(n, 4096));
    for (std::uint32_t i = 0; i < n; ++i) {
        auto& e = out.entries.emplace_back();
        std::uint32_t fields = 0;
        std::string_view bytes;
        if (!r.read_array(fields) || fields != 3)
            return fail(error, at("history entry", i, "not an array of 3"));
        if (!r.read_str(e.sensor_id))
            return fail(error, at("history entry", i, "sensorId is not a string"));
        if (!r.read_uint(e.end))
            return fail(error, at("history entry", i, "end is not an unsigned integer"));
        if (!r.read_bin(bytes) || bytes.size() % sizeof(double) != 0 ||
            bytes.size() / sizeof(double) > max_values_per_sensor) {
            return fail(error,
                        at("history entry", i, "values are not a bin of at most W-1 float64"));
        }
        e.first = out.values.size();
        e.count = bytes.size() / sizeof(double);
        if (e.count > e.end)
            return fail(error,
                        at("history entry", i, "more values than readings before the batch"));
        if (e.count == 0) continue; // a new sensor; values.data() may be null, which memcpy refuses
        out.values.resize(e.first + e.count);
        double* const values = out.values.data() + e.first;
        std::memcpy(values, bytes.data(), bytes.size());
        bool finite = true;
        for (std::size_t j = 0; j < e.count; ++j) {
            if constexpr (std::endian::native != std::endian::little) {
                values[j] = std::bit_cast<double>(
                    __builtin_bswap64(std::bit_cast<std::uint64_t>(values[j])));
            }
            finite = finite && std::isfinite(values[j]);
        }
        if (!finite) return fail(error, at("history entry", i, "value is not a finite number"));
    }
    if (!r.at_end()) return fail(error, "history: trailing bytes");
    return true;
}

void encode_config(std::string& out, const JobConfig& config) {
    MsgWriter w(out);
    w.array(5);
    w.uint(config.window);
    w.uint(config.heavy);
    w.uint(static_cast<std::uint64_t>(config.format));
    w.uint(config.kept_windows);
    w.array(static_cast<std::uint32_t>(config.calibration.size()));
    for (const auto& [id, cal] : config.calibration) {
        w.array(3);
        w.str(id);
        w.float64(cal.offset);
        w.float64(cal.scale);
    }
}

bool decode_config(std::string_view payload, JobConfig& out, DecodeError& error) {
    MsgReader r(payload);
    std::uint32_t fields = 0;
    std::uint64_t window = 0;
    std::uint64_t heavy = 0;
    std::uint64_t format = 0;
    std::uint64_t kept = 0;
    std::uint32_t n = 0;
    if (!r.read_array(fields) || fields != 5) return fail(error, "config: not an array of 5");
    if (!r.read_uint(window) || window == 0 || window > k_max_window)
        return fail(error, "config: bad window");
    if (!r.read_uint(heavy) || heavy > 0xFFFFFFFFu) return fail(error, "config: bad heavy");
    if (!r.read_uint(format) || format > static_cast<std::uint64_t>(OutputFormat::msgpack)) {
        return fail(error, "config: bad output format");
    }
    if (!r.read_uint(kept)) return fail(error, "config: bad kept windows");
    if (!r.read_array(n)) return fail(error, "config: calibration is not an array");
    out.window = static_cast<std::uint32_t>(window);
    out.heavy = static_cast<std::uint32_t>(heavy);
    out.format = static_cast<OutputFormat>(format);
    out.kept_windows = kept;
    out.calibration.clear();
    for (std::uint32_t i = 0; i < n; ++i) {
        std::string_view id;
        Calibration cal;
        if (!r.read_array(fields) || fields != 3 || !r.read_str(id) || !r.read_double(cal.offset) ||
            !r.read_double(cal.scale) || cal.scale == 0.0 || !std::isfinite(cal.scale) ||
            !std::isfinite(cal.offset)) {
            return fail(error, at("calibration entry", i, "malformed"));
        }
        out.calibration.insert_or_assign(std::string(id), cal);
    }
    if (!r.at_end()) return fail(error, "config: trailing bytes");
    return true;
}

} // namespace sluice::core
