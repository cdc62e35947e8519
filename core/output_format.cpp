#include "core/output_format.hpp"

#include "core/msgpack_writer.hpp"
#include "core/shortest.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

namespace sluice::core {

namespace {

// Large enough for any shortest double ("-2.2250738585072014e-308" is 24 chars) and any uint32.
constexpr std::size_t k_number_buffer_size = 32;
static_assert(k_number_buffer_size >= k_shortest_max);

constexpr char k_hex_digits[] = "0123456789abcdef";

void append_uint(std::string& out, std::uint32_t v) {
    std::array<char, k_number_buffer_size> buf; // to_chars fills it; no need to zero it
    const auto result = std::to_chars(buf.data(), buf.data() + buf.size(), v);
    out.append(buf.data(), static_cast<std::size_t>(result.ptr - buf.data()));
}

// Length of the well-formed UTF-8 sequence starting at p (same rules as is_valid_utf8: no
// overlongs, no surrogates, nothing above U+10FFFF), or 0 when the lead byte starts none.
std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) noexcept {
    const unsigned char c = *p;
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
        n = 1;
        cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
        n = 2;
        cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
        n = 3;
        cp = c & 0x07u;
    } else {
        return 0;
    }
    if (static_cast<std::size_t>(end - p) <= n) return 0;
    for (std::size_t i = 1; i <= n; ++i) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    static constexpr std::uint32_t k_min_for_length[] = {0, 0x80, 0x800, 0x10000};
    if (cp < k_min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n + 1;
}

// Appends `s` escaped as the inside of a JSON string. Plain runs are copied in one append, since
// sensor ids are almost always plain ASCII.
void append_json_escaped(std::string& out, std::string_view s) {
    const auto* begin = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = begin + s.size();
    const auto* run = begin;
    const auto* p = begin;
    auto flush_run = [&] {
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(p - run));
    };
    while (p < end) {
        const unsigned char c = *p;
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            ++p;
            continue;
        }
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence_length(p, end);
            if (n != 0) {
                p += n;
                continue;
            }
        }
        flush_run();
        switch (c) {
        case '"':
            out.append("\\\"", 2);
            break;
        case '\\':
            out.append("\\\\", 2);
            break;
        case '\n':
            out.append("\\n", 2);
            break;
        case '\r':
            out.append("\\r", 2);
            break;
        case '\t':
            out.append("\\t", 2);
            break;
        case '\b':
            out.append("\\b", 2);
            break;
        case '\f':
            out.append("\\f", 2);
            break;
        default: {
            // Other control characters, and bytes that are not UTF-8 (which JSON cannot carry
            // raw), become \u00XX: the byte read as a Latin-1 code point.
            const char escaped[6] = {
                '\\', 'u', '0', '0', k_hex_digits[c >> 4], k_hex_digits[c & 0xF]};
            out.append(escaped, sizeof escaped);
            break;
        }
        }
        ++p;
        run = p;
    }
    flush_run();
}

void append_json_double(std::string& out, double v) {
    append_shortest(out, v); // already writes `null` for non-finite values
}

// True when `s` goes into a JSON string as it is (printable ASCII without '"' or '\\').
bool json_plain(std::string_view s) noexcept {
    for (const char ch : s) {
        const auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c >= 0x80 || c == '"' || c == '\\') return false;
    }
    return true;
}

// The shortest text of recently formatted doubles, keyed by their bits: a direct-mapped table, one
// per thread. windowMin and windowMax are values of the sensor's window, so they stay the same for
// many records of that sensor while its extremes stay in the window; looking their text up (a hash
// and a compare) costs a fraction of formatting it again. The text is a function of the bits
// alone, so a hit writes exactly what write_shortest would.
class NumberTextCache {
public:
    // Returns the text of the finite `v`, formatting it on a miss.
    [[nodiscard]] std::string_view text(double v) noexcept {
        const auto bits = std::bit_cast<std::uint64_t>(v);
        // Fibonacci hashing: the high bits of the product mix every bit of the key.
        Slot& slot = m_slots[(bits * 0x9E3779B97F4A7C15ull) >> (64 - k_slot_bits)];
        if (slot.length == 0 || slot.bits != bits) {
            char* const end = write_shortest(slot.text.data(), v);
            slot.length = static_cast<std::uint8_t>(end - slot.text.data());
            slot.bits = bits;
        }
        return {slot.text.data(), slot.length};
    }

private:
    static constexpr unsigned k_slot_bits = 10; // 1024 slots of 40 bytes: 40 KiB, in L2
    struct Slot {
        std::uint64_t bits = 0;
        std::uint8_t length = 0; // 0: empty
        std::array<char, 31> text{};
    };
    std::array<Slot, std::size_t{1} << k_slot_bits> m_slots{};
};

NumberTextCache& number_text_cache() noexcept {
    thread_local NumberTextCache cache;
    return cache;
}

// The fields of a JSON Lines record in contract order, written through W: either JsonCursor (the
// fast path) or JsonAppender (any record). One sequence for both, so they cannot disagree.
template <class W>
void write_json(W& w, const ReadingView& r, const Features& f, bool with_heavy) {
    w.text(R"({"sensorId":")");
    w.string(r.sensor_id);
    w.text(R"(","timestamp":)");
    w.number(r.timestamp);
    w.text(R"(,"value":)");
    w.number(r.value);
    w.text(R"(,"unit":")");
    w.string(r.unit);
    w.text(R"(","normalized":)");
    w.number(f.normalized);
    w.text(R"(,"feature":)");
    w.number(f.feature);
    w.text(R"(,"windowCount":)");
    w.number(f.window_count);
    w.text(R"(,"windowMean":)");
    w.number(f.window_mean);
    w.text(R"(,"windowStd":)");
    w.number(f.window_std);
    w.text(R"(,"windowMin":)");
    w.repeated_number(f.window_min);
    w.text(R"(,"windowMax":)");
    w.repeated_number(f.window_max);
    w.text(R"(,"zscore":)");
    w.number(f.zscore);
    if (with_heavy) {
        w.text(R"(,"heavy":)");
        w.number(f.heavy);
    }
    w.text("}\n");
}

// The fast path: a cursor into a buffer on the stack (fixed text as constant-size copies, numbers
// by write_shortest in place), appended to the output once, instead of some twenty std::string
// appends. It holds any record whose strings need no escaping and are at most k_fast_text bytes
// together.
class JsonCursor {
public:
    static constexpr std::size_t k_fast_text = 256;
    // Keys and punctuation (175 bytes with heavy), 11 numbers of at most 24 characters (each given
    // k_number_buffer_size), the strings.
    static constexpr std::size_t k_capacity = 192 + 11 * k_number_buffer_size + k_fast_text;

    [[nodiscard]] static bool fits(const ReadingView& r) noexcept {
        return r.sensor_id.size() + r.unit.size() <= k_fast_text && json_plain(r.sensor_id) &&
               json_plain(r.unit);
    }
    template <std::size_t N>
    void text(const char (&s)[N]) noexcept {
        std::memcpy(m_p, s, N - 1);
        m_p += N - 1;
    }
    void string(std::string_view s) noexcept { // plain, as fits() checked
        std::memcpy(m_p, s.data(), s.size());
        m_p += s.size();
    }
    void number(double v) noexcept {
        if (!std::isfinite(v)) {
            text("null");
            return;
        }
        m_p = write_shortest(m_p, v);
    }
    void number(std::uint32_t v) noexcept {
        m_p = std::to_chars(m_p, m_p + k_number_buffer_size, v).ptr;
    }
    // A number likely to recur in the next records (windowMin, windowMax): through the cache.
    void repeated_number(double v) noexcept {
        if (!std::isfinite(v)) {
            text("null");
            return;
        }
        const std::string_view t = number_text_cache().text(v);
        std::memcpy(m_p, t.data(), t.size());
        m_p += t.size();
    }
    void append_to(std::string& out) const {
        out.append(m_buffer.data(), static_cast<std::size_t>(m_p - m_buffer.data()));
    }

private:
    std::array<char, k_capacity> m_buffer; // written before read; no need to zero it
    char* m_p = m_buffer.data();
};

// Any record, escaping strings as needed, appended piece by piece.
class JsonAppender {
public:
    explicit JsonAppender(std::string& out) : m_out(out) {}
    template <std::size_t N>
    void text(const char (&s)[N]) {
        m_out.append(s, N - 1);
    }
    void string(std::string_view s) { append_json_escaped(m_out, s); }
    void number(double v) { append_json_double(m_out, v); }
    void number(std::uint32_t v) { append_uint(m_out, v); }
    void repeated_number(double v) { number(v); }

private:
    std::string& m_out;
};

void append_json(std::string& out, const ReadingView& r, const Features& f, bool with_heavy) {
    if (JsonCursor::fits(r)) {
        JsonCursor cursor;
        write_json(cursor, r, f, with_heavy);
        cursor.append_to(out);
    } else {
        JsonAppender appender(out);
        write_json(appender, r, f, with_heavy);
    }
}

void append_csv_string(std::string& out, std::string_view s) {
    if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
        out.append(s);
        return;
    }
    out.push_back('"');
    std::size_t start = 0;
    for (std::size_t quote = s.find('"'); quote != std::string_view::npos;
         quote = s.find('"', start)) {
        out.append(s.substr(start, quote + 1 - start));
        out.push_back('"');
        start = quote + 1;
    }
    out.append(s.substr(start));
    out.push_back('"');
}

// Non-finite values leave the field empty: CSV has no standard spelling for them, and an empty
// field is what most readers load as missing.
void append_csv_double(std::string& out, double v) {
    if (std::isfinite(v)) append_shortest(out, v);
}

void append_csv(std::string& out, const ReadingView& r, const Features& f, bool with_heavy) {
    append_csv_string(out, r.sensor_id);
    out.push_back(',');
    append_csv_double(out, r.timestamp);
    out.push_back(',');
    append_csv_double(out, r.value);
    out.push_back(',');
    append_csv_string(out, r.unit);
    out.push_back(',');
    append_csv_double(out, f.normalized);
    out.push_back(',');
    append_csv_double(out, f.feature);
    out.push_back(',');
    append_uint(out, f.window_count);
    out.push_back(',');
    append_csv_double(out, f.window_mean);
    out.push_back(',');
    append_csv_double(out, f.window_std);
    out.push_back(',');
    append_csv_double(out, f.window_min);
    out.push_back(',');
    append_csv_double(out, f.window_max);
    out.push_back(',');
    append_csv_double(out, f.zscore);
    if (with_heavy) {
        out.push_back(',');
        append_csv_double(out, f.heavy);
    }
    out.push_back('\n');
}

// Keys in the order of SPEC §5; doubles always float64 (MsgWriter), so readers see one type per
// key.
void append_msgpack(std::string& out, const ReadingView& r, const Features& f, bool with_heavy) {
    MsgWriter w(out);
    w.map(with_heavy ? 13 : 12);
    w.str("sensorId");
    w.str(r.sensor_id);
    w.str("timestamp");
    w.float64(r.timestamp);
    w.str("value");
    w.float64(r.value);
    w.str("unit");
    w.str(r.unit);
    w.str("normalized");
    w.float64(f.normalized);
    w.str("feature");
    w.float64(f.feature);
    w.str("windowCount");
    w.uint(f.window_count);
    w.str("windowMean");
    w.float64(f.window_mean);
    w.str("windowStd");
    w.float64(f.window_std);
    w.str("windowMin");
    w.float64(f.window_min);
    w.str("windowMax");
    w.float64(f.window_max);
    w.str("zscore");
    w.float64(f.zscore);
    if (with_heavy) {
        w.str("heavy");
        w.float64(f.heavy);
    }
}

char ascii_lower(char c) noexcept {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    }
    return true;
}

} // namespace

std::optional<OutputFormat> output_format_from_name(std::string_view name) noexcept {
    if (name == "jsonl") return OutputFormat::jsonl;
    if (name == "csv") return OutputFormat::csv;
    if (name == "msgpack") return OutputFormat::msgpack;
    return std::nullopt;
}

std::string_view output_format_name(OutputFormat format) noexcept {
    switch (format) {
    case OutputFormat::jsonl:
        return "jsonl";
    case OutputFormat::csv:
        return "csv";
    case OutputFormat::msgpack:
        return "msgpack";
    }
    return "jsonl";
}

OutputFormat output_format_for_path(std::string_view path) noexcept {
    // Only the last component's extension counts, so a dot in a directory name ("out.d/x") does
    // not.
    const std::size_t slash = path.find_last_of('/');
    const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
    const std::size_t dot = name.find_last_of('.');
    if (dot == std::string_view::npos) return OutputFormat::jsonl;
    const std::string_view ext = name.substr(dot + 1);
    if (equals_ignoring_case(ext, "csv")) return OutputFormat::csv;
    if (equals_ignoring_case(ext, "msgpack") || equals_ignoring_case(ext, "mpk") ||
        equals_ignoring_case(ext, "msgpk")) {
        return OutputFormat::msgpack;
    }
    return OutputFormat::jsonl; // .jsonl, .json, .ndjson and anything unknown
}

std::string csv_header(bool with_heavy) {
    std::string header =
        "sensorId,timestamp,value,unit,normalized,feature,windowCount,windowMean,windowStd,"
        "windowMin,windowMax,zscore";
    if (with_heavy) header += ",heavy";
    header += '\n';
    return header;
}

// Non-finite values become `null`, the JSON spelling (to_chars would give "inf"/"nan", which no
// output format accepts); CSV and msgpack handle them before calling this.
void append_shortest(std::string& out, double v) {
    if (!std::isfinite(v)) {
        out.append("null", 4);
        return;
    }
    std::array<char, k_number_buffer_size> buf; // write_shortest fills it; no need to zero it
    const char* const end = write_shortest(buf.data(), v);
    out.append(buf.data(), static_cast<std::size_t>(end - buf.data()));
}

void append_record(std::string& out, OutputFormat format, const ReadingView& reading,
                   const Features& features, bool with_heavy) {
    switch (format) {
    case OutputFormat::jsonl:
        append_json(out, reading, features, with_heavy);
        return;
    case OutputFormat::csv:
        append_csv(out, reading, features, with_heavy);
        return;
    case OutputFormat::msgpack:
        append_msgpack(out, reading, features, with_heavy);
        return;
    }
}

} // namespace sluice::core
