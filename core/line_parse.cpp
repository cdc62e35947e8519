#include "core/line_parse.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <limits>

// Input decisions shared by every source (keep in step with the user documentation):
// - A leading UTF-8 BOM is ignored on every line (the first line of a file is not special here).
// - CSV: spaces and tabs around a field are ignored; inside quotes everything is kept verbatim
//   except that numbers are trimmed too. A quote inside an unquoted field is a literal character.
// - Numbers follow std::from_chars (general format): a leading '+' and hexadecimal are refused;
//   "nan"/"inf" parse but are refused by validation as not finite; values outside the range of a
//   double (e.g. 1e999, 1e-400) are refused as out of range.
// - JSON numbers must follow the JSON grammar (no '+', no leading zeros, no NaN/Infinity).
// - An empty unit (CSV empty field or JSON "") takes the default unit, like a missing one.
// - JSON strings may contain \u0000; raw control characters in strings are refused.

namespace sluice::core {

namespace {

using Reason = std::string_view; // empty means success

constexpr std::string_view k_bom = "\xEF\xBB\xBF";
constexpr int k_max_json_depth = 64;
constexpr int k_max_columns = std::numeric_limits<int>::max();

constexpr Reason k_empty_line = "empty line";
constexpr Reason k_missing_sensor_id = "missing field sensorId";
constexpr Reason k_missing_timestamp = "missing field timestamp";
constexpr Reason k_missing_value = "missing field value";
constexpr Reason k_timestamp_not_number = "timestamp is not a number";
constexpr Reason k_value_not_number = "value is not a number";
constexpr Reason k_timestamp_out_of_range = "timestamp is out of range";
constexpr Reason k_value_out_of_range = "value is out of range";
constexpr Reason k_unterminated_quote = "unterminated quoted field";
constexpr Reason k_after_quote = "unexpected characters after closing quote";
constexpr Reason k_header_empty = "empty CSV header";
constexpr Reason k_missing_col_sensor_id = "missing column sensorId";
constexpr Reason k_missing_col_timestamp = "missing column timestamp";
constexpr Reason k_missing_col_value = "missing column value";
constexpr Reason k_dup_col_sensor_id = "duplicate column sensorId";
constexpr Reason k_dup_col_timestamp = "duplicate column timestamp";
constexpr Reason k_dup_col_value = "duplicate column value";
constexpr Reason k_dup_col_unit = "duplicate column unit";
constexpr Reason k_too_many_columns = "too many columns";
constexpr Reason k_not_object = "not a JSON object";
constexpr Reason k_invalid_json = "invalid JSON";
constexpr Reason k_truncated_json = "JSON object is truncated";
constexpr Reason k_too_deep = "JSON nesting is too deep";
constexpr Reason k_trailing = "trailing characters after JSON object";
constexpr Reason k_unterminated_string = "unterminated string";
constexpr Reason k_control_in_string = "control character in string";
constexpr Reason k_bad_escape = "invalid escape in string";
constexpr Reason k_lone_surrogate = "lone surrogate in \\u escape";
constexpr Reason k_not_utf8 = "line is not valid UTF-8";
constexpr Reason k_sensor_id_not_string = "sensorId is not a string";
constexpr Reason k_unit_not_string = "unit is not a string";
constexpr Reason k_dup_sensor_id = "duplicate key sensorId";
constexpr Reason k_dup_timestamp = "duplicate key timestamp";
constexpr Reason k_dup_value = "duplicate key value";
constexpr Reason k_dup_unit = "duplicate key unit";

std::optional<LineError> fail(Reason why) {
    return LineError{why};
}

bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t';
}

std::string_view strip_bom(std::string_view line) noexcept {
    if (line.starts_with(k_bom)) line.remove_prefix(k_bom.size());
    return line;
}

std::string_view strip_cr(std::string_view line) noexcept {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

enum class NumberStatus : std::uint8_t { ok, malformed, out_of_range };

NumberStatus chars_to_double(const char* first, const char* last, double& out) noexcept {
    if (plain_decimal_to_double(std::string_view(first, static_cast<std::size_t>(last - first)),
                                out))
        return NumberStatus::ok;
    const auto [ptr, ec] = std::from_chars(first, last, out, std::chars_format::general);
    if (ec == std::errc::result_out_of_range) return NumberStatus::out_of_range;
    if (ec != std::errc{} || ptr != last) return NumberStatus::malformed;
    return NumberStatus::ok;
}

// ---- CSV ----

struct CsvField {
    std::string_view text; // unquoted and trimmed; doubled quotes of a quoted field still doubled
    bool doubled_quotes = false;
};

// Reads the field starting at `pos`; moves `pos` to the next field, or to npos after the last one.
Reason next_csv_field(std::string_view line, std::size_t& pos, CsvField& field) noexcept {
    const std::size_t n = line.size();
    std::size_t i = pos;
    while (i < n && is_blank(line[i])) ++i;
    if (i < n && line[i] == '"') {
        const std::size_t start = i + 1;
        std::size_t j = start;
        bool doubled = false;
        for (;;) {
            const void* q = j < n ? std::memchr(line.data() + j, '"', n - j) : nullptr;
            if (q == nullptr) return k_unterminated_quote;
            j = static_cast<std::size_t>(static_cast<const char*>(q) - line.data());
            if (j + 1 < n && line[j + 1] == '"') {
                doubled = true;
                j += 2;
                continue;
            }
            break;
        }
        field.text = line.substr(start, j - start);
        field.doubled_quotes = doubled;
        i = j + 1;
        while (i < n && is_blank(line[i])) ++i;
        if (i == n) {
            pos = std::string_view::npos;
            return {};
        }
        if (line[i] != ',') return k_after_quote;
        pos = i + 1;
        return {};
    }
    const void* c = i < n ? std::memchr(line.data() + i, ',', n - i) : nullptr;
    const std::size_t stop =
        c == nullptr ? n : static_cast<std::size_t>(static_cast<const char*>(c) - line.data());
    std::string_view text = line.substr(i, stop - i);
    while (!text.empty() && is_blank(text.back())) text.remove_suffix(1);
    field.text = text;
    field.doubled_quotes = false;
    pos = c == nullptr ? std::string_view::npos : stop + 1;
    return {};
}

void assign_csv_text(std::string& dst, const CsvField& field) {
    if (!field.doubled_quotes) {
        dst.assign(field.text);
        return;
    }
    dst.clear();
    std::string_view rest = field.text;
    for (;;) {
        const std::size_t q = rest.find('"');
        if (q == std::string_view::npos) break;
        dst.append(rest.substr(0, q + 1));
        rest.remove_prefix(q + 2); // quotes come in pairs inside a quoted field
    }
    dst.append(rest);
}

Reason parse_csv_number(const CsvField& field, double& out, Reason missing, Reason not_number,
                        Reason out_of_range) noexcept {
    const std::string_view text = trim(field.text);
    if (text.empty()) return missing;
    if (field.doubled_quotes) return not_number;
    switch (chars_to_double(text.data(), text.data() + text.size(), out)) {
    case NumberStatus::ok:
        return {};
    case NumberStatus::out_of_range:
        return out_of_range;
    case NumberStatus::malformed:
        break;
    }
    return not_number;
}

// ---- JSON ----

struct Cursor {
    const char* p;
    const char* end;
};

void skip_ws(Cursor& c) noexcept {
    while (c.p != c.end && (*c.p == ' ' || *c.p == '\t' || *c.p == '\n' || *c.p == '\r')) ++c.p;
}

struct NullSink {
    void append(const char*, std::size_t) noexcept {}
};

struct StringSink {
    std::string& out;
    void append(const char* s, std::size_t n) { out.append(s, n); }
};

// Keys are decoded into a small buffer: a key longer than the longest known key cannot match.
struct KeySink {
    char data[16] = {};
    std::size_t size = 0;
    bool overflow = false;
    void append(const char* s, std::size_t n) noexcept {
        if (overflow || n > sizeof(data) - size) {
            overflow = true;
            return;
        }
        std::memcpy(data + size, s, n);
        size += n;
    }
    [[nodiscard]] std::string_view view() const noexcept {
        return overflow ? std::string_view{} : std::string_view{data, size};
    }
};

int hex_digit(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

bool read_hex4(Cursor& c, std::uint32_t& out) noexcept {
    if (c.end - c.p < 4) return false;
    std::uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
        const int d = hex_digit(c.p[i]);
        if (d < 0) return false;
        v = (v << 4) | static_cast<std::uint32_t>(d);
    }
    c.p += 4;
    out = v;
    return true;
}

std::size_t encode_utf8(std::uint32_t cp, char* buf) noexcept {
    if (cp < 0x80) {
        buf[0] = static_cast<char>(cp);
        return 1;
    }
    if (cp < 0x800) {
        buf[0] = static_cast<char>(0xC0 | (cp >> 6));
        buf[1] = static_cast<char>(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        buf[0] = static_cast<char>(0xE0 | (cp >> 12));
        buf[1] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        buf[2] = static_cast<char>(0x80 | (cp & 0x3F));
        return 3;
    }
    buf[0] = static_cast<char>(0xF0 | (cp >> 18));
    buf[1] = static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    buf[2] = static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    buf[3] = static_cast<char>(0x80 | (cp & 0x3F));
    return 4;
}

// Called just after a backslash.
template <typename Sink>
Reason decode_escape(Cursor& c, Sink& sink) {
    if (c.p == c.end) return k_unterminated_string;
    char simple = 0;
    switch (*c.p++) {
    case '"':
        simple = '"';
        break;
    case '\\':
        simple = '\\';
        break;
    case '/':
        simple = '/';
        break;
    case 'b':
        simple = '\b';
        break;
    case 'f':
        simple = '\f';
        break;
    case 'n':
        simple = '\n';
        break;
    case 'r':
        simple = '\r';
        break;
    case 't':
        simple = '\t';
        break;
    case 'u': {
        std::uint32_t cp = 0;
        if (!read_hex4(c, cp)) return k_bad_escape;
        if (cp >= 0xDC00 && cp <= 0xDFFF) return k_lone_surrogate;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            std::uint32_t low = 0;
            if (c.end - c.p < 2 || c.p[0] != '\\' || c.p[1] != 'u') return k_lone_surrogate;
            c.p += 2;
            if (!read_hex4(c, low)) return k_bad_escape;
            if (low < 0xDC00 || low > 0xDFFF) return k_lone_surrogate;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        char buf[4];
        sink.append(buf, encode_utf8(cp, buf));
        return {};
    }
    default:
        return k_bad_escape;
    }
    sink.append(&simple, 1);
    return {};
}

// `c.p` is on the opening quote. With `check_utf8` false the caller validates the decoded text
// itself (sensorId and unit, so that the reason names the field); escapes only ever produce
// complete sequences, so decoded text is valid UTF-8 exactly when the raw bytes are.
template <typename Sink>
Reason parse_string(Cursor& c, Sink& sink, bool check_utf8) {
    ++c.p;
    const char* const start = c.p;
    const char* run = c.p;
    bool non_ascii = false;
    for (;;) {
        if (c.p == c.end) return k_unterminated_string;
        const auto ch = static_cast<unsigned char>(*c.p);
        if (ch == '"') break;
        if (ch == '\\') {
            sink.append(run, static_cast<std::size_t>(c.p - run));
            ++c.p;
            if (const Reason r = decode_escape(c, sink); !r.empty()) return r;
            run = c.p;
            continue;
        }
        if (ch < 0x20) return k_control_in_string;
        if (ch >= 0x80) non_ascii = true;
        ++c.p;
    }
    sink.append(run, static_cast<std::size_t>(c.p - run));
    if (check_utf8 && non_ascii &&
        !is_valid_utf8(std::string_view{start, static_cast<std::size_t>(c.p - start)})) {
        return k_not_utf8;
    }
    ++c.p;
    return {};
}

bool is_digit(char ch) noexcept {
    return ch >= '0' && ch <= '9';
}

// Moves past a number of the JSON grammar; false (cursor unspecified) when it is not one.
bool scan_json_number(Cursor& c) noexcept {
    if (c.p != c.end && *c.p == '-') ++c.p;
    if (c.p == c.end) return false;
    if (*c.p == '0') {
        ++c.p;
    } else if (is_digit(*c.p)) {
        while (c.p != c.end && is_digit(*c.p)) ++c.p;
    } else {
        return false;
    }
    if (c.p != c.end && *c.p == '.') {
        ++c.p;
        if (c.p == c.end || !is_digit(*c.p)) return false;
        while (c.p != c.end && is_digit(*c.p)) ++c.p;
    }
    if (c.p != c.end && (*c.p == 'e' || *c.p == 'E')) {
        ++c.p;
        if (c.p != c.end && (*c.p == '+' || *c.p == '-')) ++c.p;
        if (c.p == c.end || !is_digit(*c.p)) return false;
        while (c.p != c.end && is_digit(*c.p)) ++c.p;
    }
    return true;
}

Reason parse_json_number(Cursor& c, double& out, Reason not_number, Reason out_of_range) noexcept {
    const char* const start = c.p;
    if (!scan_json_number(c)) return not_number;
    switch (chars_to_double(start, c.p, out)) {
    case NumberStatus::ok:
        return {};
    case NumberStatus::out_of_range:
        return out_of_range;
    case NumberStatus::malformed:
        break;
    }
    return not_number;
}

bool skip_literal(Cursor& c, std::string_view word) noexcept {
    if (static_cast<std::size_t>(c.end - c.p) < word.size()) return false;
    if (std::memcmp(c.p, word.data(), word.size()) != 0) return false;
    c.p += word.size();
    return true;
}

// Validates and skips any JSON value; `depth` counts the containers already open.
Reason skip_value(Cursor& c, int depth) {
    skip_ws(c);
    if (c.p == c.end) return k_truncated_json;
    switch (*c.p) {
    case '{':
    case '[': {
        if (depth >= k_max_json_depth) return k_too_deep;
        const bool is_object = *c.p == '{';
        const char close = is_object ? '}' : ']';
        ++c.p;
        skip_ws(c);
        if (c.p == c.end) return k_truncated_json;
        if (*c.p == close) {
            ++c.p;
            return {};
        }
        for (;;) {
            if (is_object) {
                skip_ws(c);
                if (c.p == c.end) return k_truncated_json;
                if (*c.p != '"') return k_invalid_json;
                NullSink sink;
                if (const Reason r = parse_string(c, sink, true); !r.empty()) return r;
                skip_ws(c);
                if (c.p == c.end) return k_truncated_json;
                if (*c.p != ':') return k_invalid_json;
                ++c.p;
            }
            if (const Reason r = skip_value(c, depth + 1); !r.empty()) return r;
            skip_ws(c);
            if (c.p == c.end) return k_truncated_json;
            if (*c.p == close) {
                ++c.p;
                return {};
            }
            if (*c.p != ',') return k_invalid_json;
            ++c.p;
        }
    }
    case '"': {
        NullSink sink;
        return parse_string(c, sink, true);
    }
    case 't':
        return skip_literal(c, "true") ? Reason{} : k_invalid_json;
    case 'f':
        return skip_literal(c, "false") ? Reason{} : k_invalid_json;
    case 'n':
        return skip_literal(c, "null") ? Reason{} : k_invalid_json;
    default:
        return scan_json_number(c) ? Reason{} : k_invalid_json;
    }
}

enum class JsonKey : std::uint8_t { other, sensor_id, timestamp, value, unit };

JsonKey classify_key(std::string_view key) noexcept {
    if (key == "sensorId") return JsonKey::sensor_id;
    if (key == "timestamp") return JsonKey::timestamp;
    if (key == "value") return JsonKey::value;
    if (key == "unit") return JsonKey::unit;
    return JsonKey::other;
}

bool starts_number(const Cursor& c) noexcept {
    return c.p != c.end && (*c.p == '-' || is_digit(*c.p));
}

// Parses one member value of the top-level object into `out`.
Reason parse_member(Cursor& c, JsonKey key, Reading& out) {
    switch (key) {
    case JsonKey::sensor_id: {
        if (c.p == c.end || *c.p != '"') return k_sensor_id_not_string;
        out.sensor_id.clear();
        StringSink sink{out.sensor_id};
        return parse_string(c, sink, false);
    }
    case JsonKey::unit: {
        if (c.p == c.end || *c.p != '"') return k_unit_not_string;
        out.unit.clear();
        StringSink sink{out.unit};
        return parse_string(c, sink, false);
    }
    case JsonKey::timestamp:
        if (!starts_number(c)) return k_timestamp_not_number;
        return parse_json_number(c, out.timestamp, k_timestamp_not_number,
                                 k_timestamp_out_of_range);
    case JsonKey::value:
        if (!starts_number(c)) return k_value_not_number;
        return parse_json_number(c, out.value, k_value_not_number, k_value_out_of_range);
    case JsonKey::other:
        break;
    }
    return skip_value(c, 1);
}

std::optional<LineError> finish(Reading& out, bool have_unit, std::string_view default_unit) {
    if (!have_unit || out.unit.empty()) out.unit.assign(default_unit);
    const Invalid why = validate(out.sensor_id, out.timestamp, out.value, out.unit);
    if (why != Invalid::none) return fail(reason_text(why));
    return std::nullopt;
}

bool is_continuation(unsigned char b) noexcept {
    return (b & 0xC0) == 0x80;
}

// Length of the well-formed UTF-8 sequence starting at `p` (lead byte >= 0x80), or 0.
std::size_t utf8_sequence_length(const unsigned char* p, const unsigned char* end) noexcept {
    const unsigned char b0 = p[0];
    const auto avail = static_cast<std::size_t>(end - p);
    if (b0 >= 0xC2 && b0 <= 0xDF) return avail >= 2 && is_continuation(p[1]) ? 2 : 0;
    if (b0 >= 0xE0 && b0 <= 0xEF) {
        if (avail < 3 || !is_continuation(p[1]) || !is_continuation(p[2])) return 0;
        if (b0 == 0xE0 && p[1] < 0xA0) return 0;  // overlong
        if (b0 == 0xED && p[1] >= 0xA0) return 0; // surrogate
        return 3;
    }
    if (b0 >= 0xF0 && b0 <= 0xF4) {
        if (avail < 4 || !is_continuation(p[1]) || !is_continuation(p[2]) ||
            !is_continuation(p[3])) {
            return 0;
        }
        if (b0 == 0xF0 && p[1] < 0x90) return 0;  // overlong
        if (b0 == 0xF4 && p[1] >= 0x90) return 0; // above U+10FFFF
        return 4;
    }
    return 0;
}

char short_escape(unsigned char b) noexcept {
    switch (b) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    default:
        return 0;
    }
}

} // namespace

namespace {

constexpr std::array<double, 19> k_exact_powers_of_ten = [] {
    std::array<double, 19> p{};
    double x = 1.0;
    for (auto& v : p) {
        v = x; // exact: 10^k = 5^k * 2^k, and 5^18 < 2^53
        x *= 10.0;
    }
    return p;
}();

// Reads a run of decimal digits into w; returns where the run ends.
const char* read_digits(const char* p, const char* end, std::uint64_t& w) noexcept {
    while (p != end && static_cast<unsigned char>(*p - '0') < 10) {
        w = w * 10 + static_cast<unsigned>(*p - '0');
        ++p;
    }
    return p;
}

} // namespace

bool plain_decimal_to_double(std::string_view text, double& out) noexcept {
    const char* p = text.data();
    const char* const end = p + text.size();
    const bool negative = p != end && *p == '-';
    if (negative) ++p;
    std::uint64_t w = 0;
    const char* const integer = p;
    p = read_digits(p, end, w);
    auto digits = static_cast<std::size_t>(p - integer);
    if (digits == 0) return false;
    std::size_t fraction = 0;
    if (p != end && *p == '.') {
        const char* const start = ++p;
        p = read_digits(p, end, w);
        fraction = static_cast<std::size_t>(p - start);
        if (fraction == 0) return false;
        digits += fraction;
    }
    // Up to 19 digits w cannot overflow (more may have wrapped it around below 2^53).
    if (p != end || digits > 19 || w > (std::uint64_t{1} << 53)) return false;
    const double r = static_cast<double>(w) / k_exact_powers_of_ten[fraction];
    out = negative ? -r : r;
    return true;
}

std::optional<InputFormat> input_format_from_name(std::string_view name) noexcept {
    if (name == "csv") return InputFormat::csv;
    if (name == "jsonl") return InputFormat::jsonl;
    return std::nullopt;
}

std::string_view input_format_name(InputFormat format) noexcept {
    switch (format) {
    case InputFormat::csv:
        return "csv";
    case InputFormat::jsonl:
        return "jsonl";
    }
    return "unknown";
}

std::optional<LineError> parse_csv_header(std::string_view line, CsvColumns& out) {
    line = strip_cr(strip_bom(line));
    if (trim(line).empty()) return fail(k_header_empty);
    CsvColumns cols{-1, -1, -1, -1, 0};
    std::size_t pos = 0;
    int index = 0;
    while (pos != std::string_view::npos) {
        if (index == k_max_columns) return fail(k_too_many_columns);
        CsvField field;
        if (const Reason r = next_csv_field(line, pos, field); !r.empty()) return fail(r);
        const std::string_view name = trim(field.text);
        if (name == "sensorId") {
            if (cols.sensor_id >= 0) return fail(k_dup_col_sensor_id);
            cols.sensor_id = index;
        } else if (name == "timestamp") {
            if (cols.timestamp >= 0) return fail(k_dup_col_timestamp);
            cols.timestamp = index;
        } else if (name == "value") {
            if (cols.value >= 0) return fail(k_dup_col_value);
            cols.value = index;
        } else if (name == "unit") {
            if (cols.unit >= 0) return fail(k_dup_col_unit);
            cols.unit = index;
        }
        ++index;
    }
    if (cols.sensor_id < 0) return fail(k_missing_col_sensor_id);
    if (cols.timestamp < 0) return fail(k_missing_col_timestamp);
    if (cols.value < 0) return fail(k_missing_col_value);
    cols.count = index;
    out = cols;
    return std::nullopt;
}

std::optional<LineError> parse_csv_line(const CsvColumns& columns, std::string_view line,
                                        std::string_view default_unit, Reading& out) {
    line = strip_cr(strip_bom(line));
    if (line.empty()) return fail(k_empty_line);
    CsvField sensor_id;
    CsvField timestamp;
    CsvField value;
    CsvField unit;
    bool have_sensor_id = false;
    bool have_timestamp = false;
    bool have_value = false;
    bool have_unit = false;
    std::size_t pos = 0;
    int index = 0;
    // The whole line is scanned, ignored columns included, so that a malformed line is refused
    // whichever column is broken.
    while (pos != std::string_view::npos) {
        CsvField field;
        if (const Reason r = next_csv_field(line, pos, field); !r.empty()) return fail(r);
        if (index == columns.sensor_id) {
            sensor_id = field;
            have_sensor_id = true;
        }
        if (index == columns.timestamp) {
            timestamp = field;
            have_timestamp = true;
        }
        if (index == columns.value) {
            value = field;
            have_value = true;
        }
        if (index == columns.unit) {
            unit = field;
            have_unit = true;
        }
        if (index < k_max_columns) ++index;
    }
    if (!have_sensor_id) return fail(k_missing_sensor_id);
    if (!have_timestamp) return fail(k_missing_timestamp);
    if (!have_value) return fail(k_missing_value);
    if (const Reason r = parse_csv_number(timestamp, out.timestamp, k_missing_timestamp,
                                          k_timestamp_not_number, k_timestamp_out_of_range);
        !r.empty()) {
        return fail(r);
    }
    if (const Reason r = parse_csv_number(value, out.value, k_missing_value, k_value_not_number,
                                          k_value_out_of_range);
        !r.empty()) {
        return fail(r);
    }
    assign_csv_text(out.sensor_id, sensor_id);
    if (have_unit) {
        assign_csv_text(out.unit, unit);
    } else {
        out.unit.clear();
    }
    return finish(out, true, default_unit);
}

std::optional<LineError> parse_json_line(std::string_view line, std::string_view default_unit,
                                         Reading& out) {
    line = strip_bom(line); // a trailing '\r' is JSON whitespace
    Cursor c{line.data(), line.data() + line.size()};
    skip_ws(c);
    if (c.p == c.end) return fail(k_empty_line);
    if (*c.p != '{') return fail(k_not_object);
    ++c.p;
    bool have_sensor_id = false;
    bool have_timestamp = false;
    bool have_value = false;
    bool have_unit = false;
    skip_ws(c);
    if (c.p != c.end && *c.p == '}') {
        ++c.p;
    } else {
        for (;;) {
            skip_ws(c);
            if (c.p == c.end) return fail(k_truncated_json);
            if (*c.p != '"') return fail(k_invalid_json);
            KeySink key_sink;
            if (const Reason r = parse_string(c, key_sink, true); !r.empty()) return fail(r);
            skip_ws(c);
            if (c.p == c.end) return fail(k_truncated_json);
            if (*c.p != ':') return fail(k_invalid_json);
            ++c.p;
            skip_ws(c);
            const JsonKey key = classify_key(key_sink.view());
            bool* seen = nullptr;
            Reason duplicate;
            switch (key) {
            case JsonKey::sensor_id:
                seen = &have_sensor_id;
                duplicate = k_dup_sensor_id;
                break;
            case JsonKey::timestamp:
                seen = &have_timestamp;
                duplicate = k_dup_timestamp;
                break;
            case JsonKey::value:
                seen = &have_value;
                duplicate = k_dup_value;
                break;
            case JsonKey::unit:
                seen = &have_unit;
                duplicate = k_dup_unit;
                break;
            case JsonKey::other:
                break;
            }
            if (seen != nullptr) {
                if (*seen) return fail(duplicate);
                *seen = true;
            }
            if (c.p == c.end) return fail(k_truncated_json);
            if (const Reason r = parse_member(c, key, out); !r.empty()) return fail(r);
            skip_ws(c);
            if (c.p == c.end) return fail(k_truncated_json);
            if (*c.p == '}') {
                ++c.p;
                break;
            }
            if (*c.p != ',') return fail(k_invalid_json);
            ++c.p;
        }
    }
    skip_ws(c);
    if (c.p != c.end) return fail(k_trailing);
    if (!have_sensor_id) return fail(k_missing_sensor_id);
    if (!have_timestamp) return fail(k_missing_timestamp);
    if (!have_value) return fail(k_missing_value);
    return finish(out, have_unit, default_unit);
}

std::optional<LineError> parse_line(InputFormat format, const CsvColumns& columns,
                                    std::string_view line, std::string_view default_unit,
                                    Reading& out) {
    switch (format) {
    case InputFormat::csv:
        return parse_csv_line(columns, line, default_unit, out);
    case InputFormat::jsonl:
        return parse_json_line(line, default_unit, out);
    }
    return fail("unknown input format");
}

void append_json_escaped(std::string& out, std::string_view raw) {
    static constexpr char k_hex[] = "0123456789abcdef";
    const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
    const auto* const end = p + raw.size();
    const auto* run = p;
    const auto flush = [&](const unsigned char* upto) {
        out.append(reinterpret_cast<const char*>(run), static_cast<std::size_t>(upto - run));
    };
    while (p != end) {
        const unsigned char b = *p;
        if (b >= 0x20 && b < 0x80 && b != '"' && b != '\\') {
            ++p;
            continue;
        }
        if (b >= 0x80) {
            const std::size_t n = utf8_sequence_length(p, end);
            if (n != 0) {
                p += n;
                continue;
            }
        }
        flush(p);
        const char short_form = short_escape(b);
        if (short_form != 0) {
            const char esc[2] = {'\\', short_form};
            out.append(esc, 2);
        } else {
            const char esc[6] = {'\\', 'u', '0', '0', k_hex[b >> 4], k_hex[b & 0xF]};
            out.append(esc, 6);
        }
        ++p;
        run = p;
    }
    flush(p);
}

} // namespace sluice::core
