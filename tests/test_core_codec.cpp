#include "core/codec.hpp"
#include "core/msgpack_writer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using sluice::core::Calibration;
using sluice::core::decode_config;
using sluice::core::decode_history;
using sluice::core::decode_readings;
using sluice::core::DecodeError;
using sluice::core::encode_config;
using sluice::core::encode_history;
using sluice::core::encode_readings;
using sluice::core::History;
using sluice::core::JobConfig;
using sluice::core::MsgWriter;
using sluice::core::OutputFormat;
using sluice::core::Reading;
using sluice::core::ReadingView;

namespace {

constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();
constexpr double k_inf = std::numeric_limits<double>::infinity();

std::string bytes(std::initializer_list<int> list) {
    std::string out;
    for (const int b : list) out.push_back(static_cast<char>(b));
    return out;
}

// A copy of exactly `n` bytes so ASan catches reads past the end.
std::string prefix(const std::string& s, std::size_t n) {
    return std::string(s.data(), n);
}

bool decodes_readings(std::string_view payload, std::string* what = nullptr) {
    std::vector<ReadingView> out;
    DecodeError error;
    const bool ok = decode_readings(payload, out, error);
    if (what != nullptr) *what = error.what;
    if (!ok) CHECK_FALSE(error.what.empty());
    return ok;
}

// A readings payload of one reading whose four fields are written by `fields`.
std::string one_reading(std::uint32_t field_count, const std::function<void(MsgWriter&)>& fields) {
    std::string out;
    MsgWriter w(out);
    w.array(1);
    w.array(field_count);
    fields(w);
    return out;
}

std::string encoded(const std::vector<Reading>& readings) {
    std::string out;
    encode_readings(out, readings);
    return out;
}

std::string reading_payload(std::string id, double ts, double value, std::string unit) {
    return encoded({Reading{std::move(id), ts, value, std::move(unit)}});
}

History sample_history() {
    History h;
    h.values = {1.0, 2.5, -3.0, 1e-300, 42.0};
    h.entries.push_back({"A", 0, 3, 3});
    h.entries.push_back({"B", 3, 0, 0});
    h.entries.push_back({"sensor-C", 3, 2, 120});
    return h;
}

JobConfig sample_config() {
    JobConfig c;
    c.window = 7;
    c.heavy = 3;
    c.format = OutputFormat::csv;
    c.kept_windows = 300000;
    c.calibration["A"] = Calibration{1.5, 2.0};
    c.calibration["B"] = Calibration{-3.0, 0.5};
    c.calibration["very long sensor id with spaces"] = Calibration{0.0, -1e-3};
    return c;
}

// A config payload written field by field.
std::string config_payload(std::uint64_t window, std::uint64_t heavy, std::uint64_t format,
                           std::initializer_list<std::pair<double, double>> cals) {
    std::string out;
    MsgWriter w(out);
    w.array(5);
    w.uint(window);
    w.uint(heavy);
    w.uint(format);
    w.uint(0); // kept windows: no limit
    w.array(static_cast<std::uint32_t>(cals.size()));
    int i = 0;
    for (const auto& [offset, scale] : cals) {
        w.array(3);
        w.str("s" + std::to_string(i++));
        w.float64(offset);
        w.float64(scale);
    }
    return out;
}

bool decodes_config(std::string_view payload, std::string* what = nullptr) {
    JobConfig c;
    DecodeError error;
    const bool ok = decode_config(payload, c, error);
    if (what != nullptr) *what = error.what;
    return ok;
}

} // namespace

// ------------------------------------------------------------------------------------------------
// readings

TEST_CASE("readings encode to the exact bytes computed by hand", "[codec]") {
    const std::string out =
        encoded({Reading{"S1", 1.5, 2.0, "C"}, Reading{"sensor-2", 3.0, -4.25, ""}});
    // fixarray(2) + [fixarray(4), fixstr "S1", f64, f64, fixstr "C"] (1+3+9+9+2 = 24)
    //             + [fixarray(4), fixstr "sensor-2", f64, f64, fixstr ""] (1+9+9+9+1 = 29)
    CHECK(out.size() == 1 + 24 + 29);
    const std::string first =
        bytes({0x92, 0x94, 0xa2, 'S',  '1',  0xcb, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00,
               0x00, 0xcb, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa1, 'C'});
    CHECK(out.substr(0, first.size()) == first);
    // -4.25 = 0xc011000000000000; the empty unit is 0xa0 and ends the payload.
    CHECK(out.substr(out.size() - 10) == bytes({0xcb, 0xc0, 0x11, 0, 0, 0, 0, 0, 0, 0xa0}));
}

TEST_CASE("readings round trip through encode_readings and decode_readings", "[codec]") {
    const std::vector<Reading> in = {
        Reading{"S1", 1700000000.001, 21.7, "C"},
        Reading{"S2", -0.0, -0.0, ""},
        Reading{std::string(256, 'i'), 1e300, -1e-300, std::string(32, 'u')},
        Reading{"\xc3\xa9t\xc3\xa9 \xf0\x9f\x8c\xa1", 0.1, std::numeric_limits<double>::max(),
                "\xc2\xb0"
                "C"},
    };
    const std::string payload = encoded(in);
    std::vector<ReadingView> out;
    DecodeError error;
    REQUIRE(decode_readings(payload, out, error));
    REQUIRE(out.size() == in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        INFO("reading " << i);
        CHECK(out[i].sensor_id == in[i].sensor_id);
        CHECK(out[i].timestamp == in[i].timestamp);
        CHECK(std::signbit(out[i].timestamp) == std::signbit(in[i].timestamp));
        CHECK(out[i].value == in[i].value);
        CHECK(std::signbit(out[i].value) == std::signbit(in[i].value));
        CHECK(out[i].unit == in[i].unit);
        // Views point into the payload.
        CHECK(out[i].sensor_id.data() >= payload.data());
        CHECK(out[i].sensor_id.data() < payload.data() + payload.size());
    }
}

TEST_CASE("an empty batch round trips", "[codec]") {
    const std::string payload = encoded({});
    CHECK(payload == bytes({0x90}));
    std::vector<ReadingView> out(3);
    DecodeError error;
    REQUIRE(decode_readings(payload, out, error));
    CHECK(out.empty());
}

TEST_CASE("readings accept integer and float32 timestamps and values", "[codec]") {
    const std::string payload = one_reading(4, [](MsgWriter& w) {
        w.str("S");
        w.uint(1700000000);
        w.uint(5);
        w.str("u");
    });
    std::vector<ReadingView> out;
    DecodeError error;
    REQUIRE(decode_readings(payload, out, error));
    REQUIRE(out.size() == 1);
    CHECK(out[0].timestamp == 1700000000.0);
    CHECK(out[0].value == 5.0);

    // [["S", 1.5f, -3 (negative fixint), "u"]]
    const std::string mixed =
        bytes({0x91, 0x94, 0xa1, 'S', 0xca, 0x3f, 0xc0, 0x00, 0x00, 0xfd, 0xa1, 'u'});
    REQUIRE(decode_readings(mixed, out, error));
    CHECK(out[0].timestamp == 1.5);
    CHECK(out[0].value == -3.0);
}

TEST_CASE("readings with a wrong type in any field are refused, naming the field", "[codec]") {
    std::string what;
    CHECK_FALSE(decodes_readings(one_reading(4,
                                             [](MsgWriter& w) {
                                                 w.uint(1);
                                                 w.float64(1);
                                                 w.float64(1);
                                                 w.str("C");
                                             }),
                                 &what));
    CHECK(what == "reading 0: sensorId is not a string");
    CHECK_FALSE(decodes_readings(one_reading(4,
                                             [](MsgWriter& w) {
                                                 w.str("S");
                                                 w.str("1");
                                                 w.float64(1);
                                                 w.str("C");
                                             }),
                                 &what));
    CHECK(what == "reading 0: timestamp is not a number");
    CHECK_FALSE(decodes_readings(one_reading(4,
                                             [](MsgWriter& w) {
                                                 w.str("S");
                                                 w.float64(1);
                                                 w.boolean(true);
                                                 w.str("C");
                                             }),
                                 &what));
    CHECK(what == "reading 0: value is not a number");
    CHECK_FALSE(decodes_readings(one_reading(4,
                                             [](MsgWriter& w) {
                                                 w.str("S");
                                                 w.float64(1);
                                                 w.float64(1);
                                                 w.uint(3);
                                             }),
                                 &what));
    CHECK(what == "reading 0: unit is not a string");
    // A bin sensorId is not a string either.
    CHECK_FALSE(
        decodes_readings(bytes({0x91, 0x94, 0xc4, 0x01, 'S', 0x01, 0x01, 0xa1, 'C'}), &what));
    CHECK(what == "reading 0: sensorId is not a string");
    // Nil value.
    CHECK_FALSE(decodes_readings(bytes({0x91, 0x94, 0xa1, 'S', 0x01, 0xc0, 0xa1, 'C'}), &what));
    CHECK(what == "reading 0: value is not a number");
}

TEST_CASE("readings that are not arrays of exactly 4 are refused", "[codec]") {
    std::string what;
    CHECK_FALSE(decodes_readings(one_reading(3,
                                             [](MsgWriter& w) {
                                                 w.str("S");
                                                 w.float64(1);
                                                 w.float64(1);
                                             }),
                                 &what));
    CHECK(what == "reading 0: not an array of 4");
    CHECK_FALSE(decodes_readings(one_reading(5,
                                             [](MsgWriter& w) {
                                                 w.str("S");
                                                 w.float64(1);
                                                 w.float64(1);
                                                 w.str("C");
                                                 w.str("extra");
                                             }),
                                 &what));
    CHECK_FALSE(decodes_readings(
        bytes({0x91, 0x84, 0xa1, 'S', 0x01, 0x01, 0x01, 0x01, 0xa1, 'C', 0x01, 0x01}),
        &what)); // a map of 4
    CHECK(what == "reading 0: not an array of 4");
    CHECK_FALSE(decodes_readings(bytes({0x81, 0x01, 0x01}), &what));
    CHECK(what == "readings: not an array");
    CHECK_FALSE(decodes_readings("", &what));
    CHECK(what == "readings: not an array");
}

TEST_CASE("readings with a non-finite value or timestamp are refused", "[codec]") {
    std::string what;
    CHECK_FALSE(decodes_readings(reading_payload("S", 1, k_nan, "C"), &what));
    CHECK(what == "reading 0: value is not finite");
    CHECK_FALSE(decodes_readings(reading_payload("S", 1, k_inf, "C"), &what));
    CHECK(what == "reading 0: value is not finite");
    CHECK_FALSE(decodes_readings(reading_payload("S", 1, -k_inf, "C")));
    CHECK_FALSE(decodes_readings(reading_payload("S", k_nan, 1, "C"), &what));
    CHECK(what == "reading 0: timestamp is not finite");
    CHECK_FALSE(decodes_readings(reading_payload("S", k_inf, 1, "C")));
    CHECK_FALSE(decodes_readings(reading_payload("S", -k_inf, 1, "C")));
    // float32 infinity too.
    CHECK_FALSE(decodes_readings(
        bytes({0x91, 0x94, 0xa1, 'S', 0x01, 0xca, 0x7f, 0x80, 0x00, 0x00, 0xa1, 'C'})));
    // The index names the bad reading.
    const std::string two =
        encoded({Reading{"S", 1, 1, "C"}, Reading{"S", 2, k_nan, "C"}, Reading{"S", 3, 3, "C"}});
    CHECK_FALSE(decodes_readings(two, &what));
    CHECK(what == "reading 1: value is not finite");
}

TEST_CASE("readings with bad sensorId or unit strings are refused", "[codec]") {
    std::string what;
    CHECK_FALSE(decodes_readings(reading_payload("", 1, 1, "C"), &what));
    CHECK(what == "reading 0: sensorId is empty");
    CHECK(decodes_readings(reading_payload(std::string(256, 's'), 1, 1, "C")));
    CHECK_FALSE(decodes_readings(reading_payload(std::string(257, 's'), 1, 1, "C"), &what));
    CHECK(what == "reading 0: sensorId is longer than 256 bytes");
    CHECK(decodes_readings(reading_payload("S", 1, 1, std::string(32, 'u'))));
    CHECK_FALSE(decodes_readings(reading_payload("S", 1, 1, std::string(33, 'u')), &what));
    CHECK(what == "reading 0: unit is longer than 32 bytes");
    for (const std::string bad : {"\xff", "a\xc0\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                  "\xe2\x82", "\x80", "\xf8\x88\x80\x80\x80"}) {
        INFO("bytes of length " << bad.size());
        CHECK_FALSE(decodes_readings(reading_payload(bad, 1, 1, "C"), &what));
        CHECK(what == "reading 0: sensorId is not valid UTF-8");
        CHECK_FALSE(decodes_readings(reading_payload("S", 1, 1, bad), &what));
        CHECK(what == "reading 0: unit is not valid UTF-8");
    }
    // Valid multi-byte UTF-8 at the limits: U+07FF, U+FFFF, U+10FFFF.
    CHECK(decodes_readings(reading_payload("\xdf\xbf\xef\xbf\xbf\xf4\x8f\xbf\xbf", 1, 1, "C")));
}

TEST_CASE("readings with trailing bytes are refused", "[codec]") {
    std::string payload = reading_payload("S", 1, 2, "C");
    REQUIRE(decodes_readings(payload));
    std::string what;
    CHECK_FALSE(decodes_readings(payload + bytes({0xc0}), &what));
    CHECK(what == "readings: trailing bytes");
    CHECK_FALSE(decodes_readings(payload + payload));
}

TEST_CASE("a readings payload truncated at any length is refused", "[codec]") {
    const std::string payload =
        encoded({Reading{"S1", 1.5, 2.0, "C"}, Reading{std::string(40, 'x'), 3.0, -4.25, "kWh"},
                 Reading{std::string(256, 'y'), 1e9, 1e-9, ""}});
    REQUIRE(decodes_readings(payload));
    for (std::size_t n = 0; n < payload.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        const std::string p = prefix(payload, n);
        CHECK_FALSE(decodes_readings(p));
    }
}

TEST_CASE("a readings count larger than the payload is refused without allocating it", "[codec]") {
    // array32 of 2^32-1 readings in a payload of 9 bytes.
    std::string what;
    CHECK_FALSE(
        decodes_readings(bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0x94, 0xa1, 'S', 0x01}), &what));
    CHECK(what == "readings: not an array");
}

// ------------------------------------------------------------------------------------------------
// history

TEST_CASE("history round trips through encode_history and decode_history", "[codec]") {
    const History in = sample_history();
    std::string payload;
    encode_history(payload, in);
    History out;
    out.values = {99.0}; // decode clears what was there
    DecodeError error;
    REQUIRE(decode_history(payload, 3, out, error));
    REQUIRE(out.entries.size() == 3);
    const std::vector<std::string> ids = {"A", "B", "sensor-C"};
    const std::vector<std::vector<double>> values = {{1.0, 2.5, -3.0}, {}, {1e-300, 42.0}};
    const std::vector<std::uint64_t> ends = {3, 0, 120};
    for (std::size_t i = 0; i < ids.size(); ++i) {
        INFO("entry " << i);
        CHECK(out.entries[i].sensor_id == ids[i]);
        CHECK(out.entries[i].end == ends[i]);
        REQUIRE(out.entries[i].count == values[i].size());
        for (std::size_t j = 0; j < values[i].size(); ++j)
            CHECK(out.values[out.entries[i].first + j] == values[i][j]);
    }
    CHECK(out.values.size() == 5);
}

TEST_CASE("history encodes to the exact size computed by hand", "[codec]") {
    const History in = sample_history();
    std::string payload;
    encode_history(payload, in);
    // array32(3) (5: the count is patched in at the end)
    //   [fixarray(3), fixstr "A" (2), fixint 3, bin8 of 24 (2 + 24)]           = 1+2+1+26 = 30
    //   [fixarray(3), fixstr "B" (2), fixint 0, bin8 of 0 (2)]                 = 6
    //   [fixarray(3), fixstr "sensor-C" (9), fixint 120, bin8 of 16 (2 + 16)]  = 1+9+1+18 = 29
    CHECK(payload.size() == 5 + 30 + 6 + 29);
}

TEST_CASE("history values are little-endian IEEE 754 doubles in a bin", "[codec]") {
    History in;
    in.values = {1.0, -2.5};
    in.entries.push_back({"A", 0, 2, 300});
    std::string payload;
    encode_history(payload, in);
    // 1.0 is 0x3FF0000000000000 and -2.5 is 0xC004000000000000 (sign, exponent 1024, mantissa
    // 0.25): written lowest byte first. end 300 is a uint16 (0xcd 0x01 0x2c).
    CHECK(payload == bytes({0xdd, 0x00, 0x00, 0x00, 0x01, 0x93, 0xa1, 'A',  0xcd, 0x01,
                            0x2c, 0xc4, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0,
                            0x3f, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0xc0}));
    // The same bytes from another writer (minimal array header) decode to the same values.
    History out;
    DecodeError error;
    REQUIRE(decode_history(
        bytes({0x91, 0x93, 0xa1, 'A',  0x02, 0xc4, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00,
               0x00, 0x14, 0x40, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xf0, 0xbf}),
        49, out, error));
    CHECK(out.entries.at(0).end == 2);
    REQUIRE(out.values.size() == 2);
    CHECK(out.values[0] == 5.0);
    CHECK(out.values[1] == -1.0);
}

TEST_CASE("history whose first sensors have no values yet decodes into a fresh History",
          "[codec]") {
    // A job's first batch: every sensor is new. A fresh History holds no memory yet, so nothing
    // may be copied to or from its (null) data (UBSan checks this in CI).
    History in;
    in.values = {7.5};
    in.entries.push_back({"new", 0, 0, 0});
    in.entries.push_back({"old", 0, 1, 1});
    std::string payload;
    encode_history(payload, in);
    History out;
    DecodeError error;
    REQUIRE(decode_history(payload, 49, out, error));
    REQUIRE(out.entries.size() == 2);
    CHECK(out.entries[0].count == 0);
    CHECK(out.entries[1].count == 1);
    CHECK(out.values == std::vector<double>{7.5});
    History only_new;
    only_new.entries.push_back({"new", 0, 0, 0});
    payload.clear();
    encode_history(payload, only_new);
    History out2;
    REQUIRE(decode_history(payload, 49, out2, error));
    CHECK(out2.values.empty());
}

TEST_CASE("history with more values per sensor than allowed is refused", "[codec]") {
    const History in = sample_history();
    std::string payload;
    encode_history(payload, in);
    History out;
    DecodeError error;
    CHECK_FALSE(decode_history(payload, 2, out, error));
    CHECK(error.what == "history entry 0: values are not a bin of at most W-1 float64");
    CHECK(decode_history(payload, 3, out, error));
    // Zero allowed: only empty entries pass.
    CHECK_FALSE(decode_history(payload, 0, out, error));
    History empty;
    empty.entries.push_back({"A", 0, 0, 0});
    payload.clear();
    encode_history(payload, empty);
    CHECK(decode_history(payload, 0, out, error));
}

TEST_CASE("history with non-finite values is refused", "[codec]") {
    for (const double bad : {k_nan, k_inf, -k_inf}) {
        History in;
        in.values = {1.0, bad};
        in.entries.push_back({"A", 0, 2, 2});
        std::string payload;
        encode_history(payload, in);
        History out;
        DecodeError error;
        CHECK_FALSE(decode_history(payload, 49, out, error));
        CHECK(error.what == "history entry 0: value is not a finite number");
    }
}

TEST_CASE("history of the wrong shape is refused", "[codec]") {
    History out;
    DecodeError error;
    CHECK_FALSE(decode_history(bytes({0xc0}), 49, out, error));
    CHECK(error.what == "history: not an array");
    // An entry of 2 elements (protocol version 2: no end).
    CHECK_FALSE(decode_history(bytes({0x91, 0x92, 0xa1, 'A', 0xc4, 0x00}), 49, out, error));
    CHECK(error.what == "history entry 0: not an array of 3");
    // A numeric sensorId.
    CHECK_FALSE(decode_history(bytes({0x91, 0x93, 0x01, 0x00, 0xc4, 0x00}), 49, out, error));
    CHECK(error.what == "history entry 0: sensorId is not a string");
    // An end that is not an unsigned integer (a string, a negative number).
    CHECK_FALSE(
        decode_history(bytes({0x91, 0x93, 0xa1, 'A', 0xa1, 'x', 0xc4, 0x00}), 49, out, error));
    CHECK(error.what == "history entry 0: end is not an unsigned integer");
    CHECK_FALSE(decode_history(bytes({0x91, 0x93, 0xa1, 'A', 0xff, 0xc4, 0x00}), 49, out, error));
    CHECK(error.what == "history entry 0: end is not an unsigned integer");
    // Values that are a string.
    CHECK_FALSE(decode_history(bytes({0x91, 0x93, 0xa1, 'A', 0x01, 0xa1, '1'}), 49, out, error));
    CHECK(error.what == "history entry 0: values are not a bin of at most W-1 float64");
    // Values as an array of numbers (protocol version 1).
    CHECK_FALSE(
        decode_history(bytes({0x91, 0x93, 0xa1, 'A', 0x02, 0x92, 0x05, 0xff}), 49, out, error));
    CHECK(error.what == "history entry 0: values are not a bin of at most W-1 float64");
    // A bin whose length is not a multiple of 8.
    CHECK_FALSE(decode_history(bytes({0x91, 0x93, 0xa1, 'A', 0x03, 0xc4, 0x03, 0x00, 0x00, 0x00}),
                               49, out, error));
    CHECK(error.what == "history entry 0: values are not a bin of at most W-1 float64");
    // A bin claiming more bytes than there are.
    CHECK_FALSE(decode_history(bytes({0x91, 0x93, 0xa1, 'A', 0x01, 0xc5, 0xff, 0xf8, 0x00}), 49,
                               out, error));
    CHECK(error.what == "history entry 0: values are not a bin of at most W-1 float64");
    // More values than readings of the sensor before the batch: one value, end 0.
    CHECK_FALSE(decode_history(bytes({0x91, 0x93, 0xa1, 'A', 0x00, 0xc4, 0x08, 0x00, 0x00, 0x00,
                                      0x00, 0x00, 0x00, 0xf0, 0x3f}),
                               49, out, error));
    CHECK(error.what == "history entry 0: more values than readings before the batch");
    // Trailing bytes.
    CHECK_FALSE(decode_history(bytes({0x90, 0xc0}), 49, out, error));
    CHECK(error.what == "history: trailing bytes");
    // An entry count beyond what the bytes left could hold is refused before anything is read.
    CHECK_FALSE(decode_history(bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0x90}), 49, out, error));
    CHECK(error.what == "history: not an array");
}

TEST_CASE("a history payload truncated at any length is refused", "[codec]") {
    std::string payload;
    encode_history(payload, sample_history());
    for (std::size_t n = 0; n < payload.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        const std::string p = prefix(payload, n);
        History out;
        DecodeError error;
        CHECK_FALSE(decode_history(p, 49, out, error));
    }
}

// ------------------------------------------------------------------------------------------------
// config

TEST_CASE("config round trips with window, heavy, format and calibration", "[codec]") {
    for (const OutputFormat format :
         {OutputFormat::jsonl, OutputFormat::csv, OutputFormat::msgpack}) {
        JobConfig in = sample_config();
        in.format = format;
        std::string payload;
        encode_config(payload, in);
        JobConfig out;
        out.calibration["stale"] = Calibration{};
        DecodeError error;
        REQUIRE(decode_config(payload, out, error));
        CHECK(out.window == 7);
        CHECK(out.heavy == 3);
        CHECK(out.format == format);
        CHECK(out.kept_windows == 300000);
        REQUIRE(out.calibration.size() == 3);
        CHECK(out.calibration.at("A").offset == 1.5);
        CHECK(out.calibration.at("A").scale == 2.0);
        CHECK(out.calibration.at("B").offset == -3.0);
        CHECK(out.calibration.at("B").scale == 0.5);
        CHECK(out.calibration.at("very long sensor id with spaces").scale == -1e-3);
        CHECK(out.calibration.count("stale") == 0);
    }
}

TEST_CASE("config encodes to the exact bytes computed by hand", "[codec]") {
    JobConfig in;
    in.window = 200;
    in.heavy = 0;
    in.format = OutputFormat::msgpack;
    in.kept_windows = 70000;
    in.calibration["A"] = Calibration{1.0, 2.0};
    std::string payload;
    encode_config(payload, in);
    // [200, 0, 2, 70000, [["A", 1.0, 2.0]]]; 70000 = 0x11170 is a uint32 (0xce)
    const std::string expected =
        bytes({0x95, 0xcc, 0xc8, 0x00, 0x02, 0xce, 0x00, 0x01, 0x11, 0x70, 0x91, 0x93, 0xa1, 'A'}) +
        bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}) + bytes({0xcb, 0x40, 0x00, 0, 0, 0, 0, 0, 0});
    CHECK(payload.size() == 14 + 9 + 9);
    CHECK(payload == expected);
}

TEST_CASE("config limits: window 1 and the maximum are accepted, 0 and above are refused",
          "[codec]") {
    std::string what;
    CHECK(decodes_config(config_payload(1, 0, 0, {})));
    CHECK(decodes_config(config_payload(sluice::core::k_max_window, 0, 0, {})));
    CHECK_FALSE(decodes_config(config_payload(0, 0, 0, {}), &what));
    CHECK(what == "config: bad window");
    CHECK_FALSE(decodes_config(config_payload(sluice::core::k_max_window + 1, 0, 0, {})));
    CHECK_FALSE(decodes_config(config_payload(std::uint64_t{1} << 32, 0, 0, {})));
    CHECK(decodes_config(config_payload(5, 0xffffffffu, 0, {})));
    CHECK_FALSE(decodes_config(config_payload(5, 0x100000000u, 0, {}), &what));
    CHECK(what == "config: bad heavy");
}

TEST_CASE("config refuses an unknown output format", "[codec]") {
    std::string what;
    CHECK(decodes_config(config_payload(5, 0, 2, {})));
    CHECK_FALSE(decodes_config(config_payload(5, 0, 3, {}), &what));
    CHECK(what == "config: bad output format");
    CHECK_FALSE(decodes_config(config_payload(5, 0, 255, {})));
    CHECK_FALSE(decodes_config(config_payload(5, 0, 258, {}))); // 258 & 0xff would be csv
}

TEST_CASE("config refuses calibration with scale 0 or non-finite numbers", "[codec]") {
    std::string what;
    CHECK(decodes_config(config_payload(5, 0, 0, {{1.0, 2.0}, {-1.0, -2.0}})));
    CHECK_FALSE(decodes_config(config_payload(5, 0, 0, {{1.0, 2.0}, {1.0, 0.0}}), &what));
    CHECK(what == "calibration entry 1: malformed");
    CHECK_FALSE(decodes_config(config_payload(5, 0, 0, {{1.0, -0.0}})));
    CHECK_FALSE(decodes_config(config_payload(5, 0, 0, {{1.0, k_nan}})));
    CHECK_FALSE(decodes_config(config_payload(5, 0, 0, {{1.0, k_inf}})));
    CHECK_FALSE(decodes_config(config_payload(5, 0, 0, {{k_nan, 1.0}})));
    CHECK_FALSE(decodes_config(config_payload(5, 0, 0, {{-k_inf, 1.0}})));
}

TEST_CASE("config of the wrong shape is refused", "[codec]") {
    std::string what;
    CHECK_FALSE(decodes_config(bytes({0x94, 0x05, 0x00, 0x00, 0x90}), &what)); // protocol 3's
    CHECK(what == "config: not an array of 5");
    CHECK_FALSE(decodes_config(bytes({0x96, 0x05, 0x00, 0x00, 0x00, 0x90, 0x00})));
    CHECK_FALSE(decodes_config(bytes({0x95, 0xff, 0x00, 0x00, 0x00, 0x90})));        // window -1
    CHECK_FALSE(decodes_config(bytes({0x95, 0x05, 0x00, 0x00, 0xff, 0x90}), &what)); // kept -1
    CHECK(what == "config: bad kept windows");
    CHECK_FALSE(decodes_config(bytes({0x95, 0x05, 0x00, 0x00, 0x00, 0xc0}), &what));
    CHECK(what == "config: calibration is not an array");
    // A calibration entry of 2 elements; with a numeric id.
    CHECK_FALSE(decodes_config(bytes({0x95, 0x05, 0x00, 0x00, 0x00, 0x91, 0x92, 0xa1, 'A', 0x01})));
    CHECK_FALSE(
        decodes_config(bytes({0x95, 0x05, 0x00, 0x00, 0x00, 0x91, 0x93, 0x01, 0x01, 0x01}), &what));
    CHECK(what == "calibration entry 0: malformed");
    // Trailing bytes.
    CHECK_FALSE(decodes_config(config_payload(5, 0, 0, {}) + bytes({0x00}), &what));
    CHECK(what == "config: trailing bytes");
    // Integer offset and scale are numbers.
    JobConfig c;
    DecodeError error;
    REQUIRE(decode_config(bytes({0x95, 0x05, 0x00, 0x00, 0x00, 0x91, 0x93, 0xa1, 'A', 0xfe, 0x03}),
                          c, error));
    CHECK(c.calibration.at("A").offset == -2.0);
    CHECK(c.calibration.at("A").scale == 3.0);
}

TEST_CASE("a config payload truncated at any length is refused", "[codec]") {
    std::string payload;
    encode_config(payload, sample_config());
    REQUIRE(decodes_config(payload));
    for (std::size_t n = 0; n < payload.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        const std::string p = prefix(payload, n);
        CHECK_FALSE(decodes_config(p));
    }
}
