#include "core/output_format.hpp"

#include <bit>
#include <catch2/catch.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <msgpack.hpp>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::string_literals;
using sluice::core::append_record;
using sluice::core::append_shortest;
using sluice::core::csv_header;
using sluice::core::Features;
using sluice::core::output_format_for_path;
using sluice::core::output_format_from_name;
using sluice::core::output_format_name;
using sluice::core::OutputFormat;
using sluice::core::ReadingView;

namespace {

constexpr double k_inf = std::numeric_limits<double>::infinity();
constexpr double k_nan = std::numeric_limits<double>::quiet_NaN();

// The record used by the exact JSON and CSV tests: every value has a short exact decimal form.
ReadingView sample_reading() {
    return ReadingView{"S1", 1700000000.001, 50.5, "C"};
}

Features sample_features() {
    Features f;
    f.normalized = 0.5;
    f.feature = 1.25;
    f.window_count = 3;
    f.window_mean = 50.25;
    f.window_std = 0.125;
    f.window_min = 49.5;
    f.window_max = 51.0;
    f.zscore = 0.0;
    f.heavy = 2.5;
    return f;
}

std::string format(OutputFormat format, const ReadingView& r, const Features& f,
                   bool with_heavy = false) {
    std::string out;
    append_record(out, format, r, f, with_heavy);
    return out;
}

std::string json_with_sensor_id(std::string_view sensor_id) {
    return format(OutputFormat::jsonl, ReadingView{sensor_id, 1.0, 2.0, "C"}, Features{});
}

// The text between "sensorId":" and ","timestamp", i.e. the escaped id.
std::string escaped_id(std::string_view sensor_id) {
    const std::string line = json_with_sensor_id(sensor_id);
    const std::string prefix = R"({"sensorId":")";
    const std::size_t end = line.find(R"(","timestamp":)");
    REQUIRE(line.rfind(prefix, 0) == 0);
    REQUIRE(end != std::string::npos);
    return line.substr(prefix.size(), end - prefix.size());
}

std::string shortest(double v) {
    std::string out;
    append_shortest(out, v);
    return out;
}

// The bytes of the windowCount value in a msgpack record: between its key and the next key.
std::string msgpack_window_count_bytes(std::uint32_t count) {
    Features f;
    f.window_count = count;
    const std::string out = format(OutputFormat::msgpack, ReadingView{"S", 0.0, 0.0, ""}, f);
    const std::string key = "\xab"s + "windowCount";
    const std::string next_key = "\xaa"s + "windowMean";
    const std::size_t begin = out.find(key);
    REQUIRE(begin != std::string::npos);
    const std::size_t end = out.find(next_key, begin);
    REQUIRE(end != std::string::npos);
    return out.substr(begin + key.size(), end - begin - key.size());
}

// Literal strings are split after every \x escape so the next key's letters are not read as hex.
// clang-format off
const std::string k_small_msgpack_record =
    "\x8c"s                                        // fixmap, 12 entries
    "\xa8" "sensorId"   "\xa2" "S1"
    "\xa9" "timestamp"  "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00"s // 1.0
    "\xa5" "value"      "\xcb\x40\x00\x00\x00\x00\x00\x00\x00"s // 2.0
    "\xa4" "unit"       "\xa1" "C"
    "\xaa" "normalized" "\xcb\x3f\xe0\x00\x00\x00\x00\x00\x00"s // 0.5
    "\xa7" "feature"    "\xcb\x00\x00\x00\x00\x00\x00\x00\x00"s // 0.0
    "\xab" "windowCount" "\x03"                  // positive fixint 3
    "\xaa" "windowMean" "\xcb\xbf\xf0\x00\x00\x00\x00\x00\x00"s // -1.0
    "\xa9" "windowStd"  "\xcb\x3f\xd0\x00\x00\x00\x00\x00\x00"s // 0.25
    "\xa9" "windowMin"  "\xcb\xc0\x00\x00\x00\x00\x00\x00\x00"s // -2.0
    "\xa9" "windowMax"  "\xcb\x40\x10\x00\x00\x00\x00\x00\x00"s // 4.0
    "\xa6" "zscore"     "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"s; // 1.5
// clang-format on

ReadingView small_msgpack_reading() {
    return ReadingView{"S1", 1.0, 2.0, "C"};
}

Features small_msgpack_features() {
    Features f;
    f.normalized = 0.5;
    f.feature = 0.0;
    f.window_count = 3;
    f.window_mean = -1.0;
    f.window_std = 0.25;
    f.window_min = -2.0;
    f.window_max = 4.0;
    f.zscore = 1.5;
    f.heavy = -0.5;
    return f;
}

} // namespace

TEST_CASE("A JSON line holds every field in contract order with no spaces") {
    CHECK(format(OutputFormat::jsonl, sample_reading(), sample_features()) ==
          R"({"sensorId":"S1","timestamp":1700000000.001,"value":50.5,"unit":"C",)"
          R"("normalized":0.5,"feature":1.25,"windowCount":3,"windowMean":50.25,)"
          R"("windowStd":0.125,"windowMin":49.5,"windowMax":51,"zscore":0})"
          "\n");
}

TEST_CASE("A JSON line with heavy ends with the heavy field after zscore") {
    CHECK(format(OutputFormat::jsonl, sample_reading(), sample_features(), true) ==
          R"({"sensorId":"S1","timestamp":1700000000.001,"value":50.5,"unit":"C",)"
          R"("normalized":0.5,"feature":1.25,"windowCount":3,"windowMean":50.25,)"
          R"("windowStd":0.125,"windowMin":49.5,"windowMax":51,"zscore":0,"heavy":2.5})"
          "\n");
}

TEST_CASE("A JSON line with long plain strings is the same whichever path writes it") {
    // Strings of up to 256 bytes together take the formatter's stack-buffer path, longer ones
    // the general one; both must give the bytes spelled out here. Every field at its widest:
    // 17 significant digits and an exponent.
    const double wide = -2.2250738585072014e-308;
    Features f;
    f.normalized = f.feature = f.window_mean = f.window_std = f.window_min = f.window_max =
        f.zscore = f.heavy = wide;
    f.window_count = 4294967295u;
    for (const std::size_t id_length : {1u, 200u, 255u, 256u}) {
        for (const std::size_t unit_length : {0u, 1u, 56u, 100u}) {
            const std::string id(id_length, 'x');
            const std::string unit(unit_length, 'u');
            std::string expected = R"({"sensorId":")" + id + R"(","timestamp":)";
            for (const char* key : {"", "value"}) {
                if (*key != 0) expected += R"(,"value":)";
                expected += "-2.2250738585072014e-308";
            }
            expected += R"(,"unit":")" + unit + R"(")";
            for (const char* key : {"normalized", "feature"})
                expected += ","s + '"' + key + R"(":-2.2250738585072014e-308)";
            expected += R"(,"windowCount":4294967295)";
            for (const char* key :
                 {"windowMean", "windowStd", "windowMin", "windowMax", "zscore", "heavy"})
                expected += ","s + '"' + key + R"(":-2.2250738585072014e-308)";
            expected += "}\n";
            INFO("sensorId " << id_length << " bytes, unit " << unit_length << " bytes");
            CHECK(format(OutputFormat::jsonl, ReadingView{id, wide, wide, unit}, f, true) ==
                  expected);
        }
    }
}

TEST_CASE("Records are appended after what the buffer already holds") {
    std::string out = "prefix|";
    append_record(out, OutputFormat::csv, sample_reading(), sample_features(), false);
    append_record(out, OutputFormat::csv, sample_reading(), sample_features(), false);
    CHECK(out == "prefix|S1,1700000000.001,50.5,C,0.5,1.25,3,50.25,0.125,49.5,51,0\n"
                 "S1,1700000000.001,50.5,C,0.5,1.25,3,50.25,0.125,49.5,51,0\n");
}

TEST_CASE("The CSV header names every column and heavy only when asked") {
    CHECK(csv_header(false) == "sensorId,timestamp,value,unit,normalized,feature,windowCount,"
                               "windowMean,windowStd,windowMin,windowMax,zscore\n");
    CHECK(csv_header(true) == "sensorId,timestamp,value,unit,normalized,feature,windowCount,"
                              "windowMean,windowStd,windowMin,windowMax,zscore,heavy\n");
}

TEST_CASE("A CSV line holds every field in header order") {
    CHECK(format(OutputFormat::csv, sample_reading(), sample_features()) ==
          "S1,1700000000.001,50.5,C,0.5,1.25,3,50.25,0.125,49.5,51,0\n");
    CHECK(format(OutputFormat::csv, sample_reading(), sample_features(), true) ==
          "S1,1700000000.001,50.5,C,0.5,1.25,3,50.25,0.125,49.5,51,0,2.5\n");
}

TEST_CASE("CSV quotes a string with a comma or quote and doubles its quotes") {
    const ReadingView r{R"(a,"b")", 1.0, 2.0, "C"};
    CHECK(format(OutputFormat::csv, r, Features{}) == R"("a,""b""",1,2,C,0,0,0,0,0,0,0,0)"
                                                      "\n");
}

TEST_CASE("CSV quotes strings with a line break and leaves other text as is") {
    CHECK(format(OutputFormat::csv, ReadingView{"x\ny", 1.0, 2.0, "a\rb"}, Features{}) ==
          "\"x\ny\",1,2,\"a\rb\",0,0,0,0,0,0,0,0\n");
    CHECK(format(OutputFormat::csv, ReadingView{"only\"quote", 1.0, 2.0, "deg C"}, Features{}) ==
          "\"only\"\"quote\",1,2,deg C,0,0,0,0,0,0,0,0\n");
    CHECK(format(OutputFormat::csv, ReadingView{"caf\xc3\xa9", 1.0, 2.0, ""}, Features{}) ==
          "caf\xc3\xa9,1,2,,0,0,0,0,0,0,0,0\n");
}

TEST_CASE("JSON escapes quotes, backslashes and control characters") {
    CHECK(escaped_id(R"(a"b\c)") == R"(a\"b\\c)");
    CHECK(escaped_id("\n\r\t\b\f") == R"(\n\r\t\b\f)");
    CHECK(escaped_id("\x01x\x1f") == R"(\u0001x\u001f)");
    CHECK(escaped_id("nul\0end"s) == R"(nul\u0000end)");
    CHECK(escaped_id("del\x7f") == "del\x7f");
    CHECK(escaped_id("plain/slash") == "plain/slash");
}

TEST_CASE("JSON escapes the unit like the sensor id") {
    CHECK(format(OutputFormat::jsonl, ReadingView{"S", 1.0, 2.0, "\"\\"}, Features{}) ==
          R"({"sensorId":"S","timestamp":1,"value":2,"unit":"\"\\","normalized":0,)"
          R"("feature":0,"windowCount":0,"windowMean":0,"windowStd":0,"windowMin":0,)"
          R"("windowMax":0,"zscore":0})"
          "\n");
}

TEST_CASE("JSON copies valid UTF-8 as is") {
    CHECK(escaped_id("caf\xc3\xa9") == "caf\xc3\xa9");           // U+00E9
    CHECK(escaped_id("\xe2\x82\xac") == "\xe2\x82\xac");         // U+20AC
    CHECK(escaped_id("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80"); // U+1F600
    CHECK(escaped_id("\xf4\x8f\xbf\xbf") == "\xf4\x8f\xbf\xbf"); // U+10FFFF
}

TEST_CASE("JSON writes each byte that is not UTF-8 as a \\u00XX escape") {
    CHECK(escaped_id("\xff") == R"(\u00ff)");
    CHECK(escaped_id("a\x80z") == R"(a\u0080z)");                           // stray continuation
    CHECK(escaped_id("end\xc3") == R"(end\u00c3)");                         // truncated sequence
    CHECK(escaped_id("\xc3(") == R"(\u00c3()");                             // bad continuation
    CHECK(escaped_id("\xc0\xaf") == R"(\u00c0\u00af)");                     // overlong '/'
    CHECK(escaped_id("\xed\xa0\x80") == R"(\u00ed\u00a0\u0080)");           // surrogate U+D800
    CHECK(escaped_id("\xf4\x90\x80\x80") == R"(\u00f4\u0090\u0080\u0080)"); // above U+10FFFF
    CHECK(escaped_id("\xfe\xc3\xa9") == "\\u00fe\xc3\xa9");                 // valid text resumes
}

TEST_CASE("Shortest doubles use the fewest digits that read back exactly") {
    CHECK(shortest(0.1) == "0.1");
    CHECK(shortest(1700000000.001) == "1700000000.001");
    CHECK(shortest(1e21) == "1e+21");
    CHECK(shortest(5e-324) == "5e-324");
    CHECK(shortest(-0.0) == "-0");
    CHECK(shortest(0.0) == "0");
    CHECK(shortest(50.0) == "50");
    CHECK(shortest(-2.5) == "-2.5");
    CHECK(shortest(1.7976931348623157e308) == "1.7976931348623157e+308");
}

TEST_CASE("Shortest doubles append to the existing buffer") {
    std::string out = "x=";
    append_shortest(out, 0.25);
    CHECK(out == "x=0.25");
}

TEST_CASE("Shortest doubles read back to the identical bits for random bit patterns") {
    std::mt19937_64 rng(20240601);
    int checked = 0;
    int mismatches = 0;
    std::string first_mismatch;
    while (checked < 100000) {
        const double v = std::bit_cast<double>(rng());
        if (!std::isfinite(v)) continue;
        ++checked;
        std::string text;
        append_shortest(text, v);
        double back = 0.0;
        const auto result = std::from_chars(text.data(), text.data() + text.size(), back);
        const bool same = result.ec == std::errc{} && result.ptr == text.data() + text.size() &&
                          std::bit_cast<std::uint64_t>(back) == std::bit_cast<std::uint64_t>(v);
        if (!same) {
            if (mismatches == 0) first_mismatch = text;
            ++mismatches;
        }
    }
    INFO("first mismatch: " << first_mismatch);
    CHECK(mismatches == 0);
}

TEST_CASE("A msgpack record is a map of fixstr keys, float64 doubles and a small uint") {
    const std::string out =
        format(OutputFormat::msgpack, small_msgpack_reading(), small_msgpack_features());
    CHECK(out.size() == k_small_msgpack_record.size());
    CHECK(out == k_small_msgpack_record);
}

TEST_CASE("A msgpack record with heavy has 13 entries and heavy last") {
    const std::string out =
        format(OutputFormat::msgpack, small_msgpack_reading(), small_msgpack_features(), true);
    const std::string expected = "\x8d"s + k_small_msgpack_record.substr(1) + "\xa5"s + "heavy" +
                                 "\xcb\xbf\xe0\x00\x00\x00\x00\x00\x00"s; // -0.5
    CHECK(out == expected);
}

TEST_CASE("msgpack keeps integral doubles and negative zero as float64") {
    const std::string out =
        format(OutputFormat::msgpack, ReadingView{"S", 50.0, -0.0, ""}, Features{});
    CHECK(out.find("\xa9"s + "timestamp" + "\xcb\x40\x49\x00\x00\x00\x00\x00\x00"s) !=
          std::string::npos);
    CHECK(out.find("\xa5"s + "value" + "\xcb\x80\x00\x00\x00\x00\x00\x00\x00"s) !=
          std::string::npos);
}

TEST_CASE("msgpack window counts use the smallest unsigned encoding") {
    CHECK(msgpack_window_count_bytes(0) == "\x00"s);
    CHECK(msgpack_window_count_bytes(127) == "\x7f"s);
    CHECK(msgpack_window_count_bytes(128) == "\xcc\x80"s);
    CHECK(msgpack_window_count_bytes(255) == "\xcc\xff"s);
    CHECK(msgpack_window_count_bytes(256) == "\xcd\x01\x00"s);
    CHECK(msgpack_window_count_bytes(65535) == "\xcd\xff\xff"s);
    CHECK(msgpack_window_count_bytes(65536) == "\xce\x00\x01\x00\x00"s);
    CHECK(msgpack_window_count_bytes(4294967295U) == "\xce\xff\xff\xff\xff"s);
}

TEST_CASE("msgpack writes longer strings with str8 and str16 headers") {
    const std::string id31(31, 'a');
    const std::string id32(32, 'b');
    const std::string id256(256, 'c');
    CHECK(format(OutputFormat::msgpack, ReadingView{id31, 0, 0, ""}, Features{}).substr(1, 10) ==
          "\xa8"s + "sensorId" + "\xbf");
    CHECK(format(OutputFormat::msgpack, ReadingView{id32, 0, 0, ""}, Features{}).substr(1, 13) ==
          "\xa8"s + "sensorId" + "\xd9\x20"s + "bb");
    CHECK(format(OutputFormat::msgpack, ReadingView{id256, 0, 0, ""}, Features{}).substr(1, 14) ==
          "\xa8"s + "sensorId" + "\xda\x01\x00"s + "cc");
}

TEST_CASE("A msgpack record decodes back to a map with the same keys and values") {
    const ReadingView reading{"sensor \xc3\xa9,\"x\"", 1700000000.001, 50.5, "kPa"};
    Features f = sample_features();
    f.window_count = 70000;
    const std::string out = format(OutputFormat::msgpack, reading, f, true);

    std::size_t offset = 0;
    const msgpack::object_handle handle = msgpack::unpack(out.data(), out.size(), offset);
    CHECK(offset == out.size());
    const msgpack::object& obj = handle.get();
    REQUIRE(obj.type == msgpack::type::MAP);
    REQUIRE(obj.via.map.size == 13);

    const std::vector<std::string> keys = {
        "sensorId",   "timestamp", "value",     "unit",      "normalized", "feature", "windowCount",
        "windowMean", "windowStd", "windowMin", "windowMax", "zscore",     "heavy"};
    const std::vector<double> doubles = {1700000000.001, 50.5, 0.5,  1.25, 50.25,
                                         0.125,          49.5, 51.0, 0.0,  2.5};
    std::size_t next_double = 0;
    for (std::uint32_t i = 0; i < obj.via.map.size; ++i) {
        const msgpack::object_kv& kv = obj.via.map.ptr[i];
        REQUIRE(kv.key.type == msgpack::type::STR);
        const std::string key = kv.key.as<std::string>();
        CHECK(key == keys[i]);
        if (key == "sensorId") {
            REQUIRE(kv.val.type == msgpack::type::STR);
            CHECK(kv.val.as<std::string>() == "sensor \xc3\xa9,\"x\"");
        } else if (key == "unit") {
            REQUIRE(kv.val.type == msgpack::type::STR);
            CHECK(kv.val.as<std::string>() == "kPa");
        } else if (key == "windowCount") {
            REQUIRE(kv.val.type == msgpack::type::POSITIVE_INTEGER);
            CHECK(kv.val.as<std::uint32_t>() == 70000);
        } else {
            REQUIRE(kv.val.type == msgpack::type::FLOAT64);
            CHECK(kv.val.as<double>() == doubles.at(next_double));
            ++next_double;
        }
    }
    CHECK(next_double == doubles.size());
}

TEST_CASE("Consecutive msgpack records decode as a stream") {
    std::string out;
    append_record(out, OutputFormat::msgpack, small_msgpack_reading(), small_msgpack_features(),
                  false);
    append_record(out, OutputFormat::msgpack, sample_reading(), sample_features(), true);
    std::size_t offset = 0;
    const msgpack::object_handle first = msgpack::unpack(out.data(), out.size(), offset);
    CHECK(first.get().via.map.size == 12);
    const msgpack::object_handle second = msgpack::unpack(out.data(), out.size(), offset);
    CHECK(second.get().via.map.size == 13);
    CHECK(offset == out.size());
}

// windowMin and windowMax go through a per-thread cache of formatted numbers; whatever it holds,
// each must read as the number itself. 5,000 random values (far more than the cache's slots, so
// they evict each other) are each written three times in a row, then all again in reverse order.
TEST_CASE("Window extremes written again and again read back as the exact values") {
    std::mt19937_64 rng(20261202);
    std::vector<double> values;
    while (values.size() < 5000) {
        const double v = std::bit_cast<double>(rng());
        if (std::isfinite(v)) values.push_back(v);
    }
    values.push_back(0.0); // same text for both zeros would be wrong: -0.0 must stay "-0"
    values.push_back(-0.0);
    std::vector<double> order = values;
    order.insert(order.end(), values.rbegin(), values.rend());
    const auto field = [](const std::string& line, std::string_view key) {
        const auto start = line.find(key) + key.size();
        return line.substr(start, line.find_first_of(",}", start) - start);
    };
    const auto reads_as = [](const std::string& text, double v) {
        double back = 1.0;
        const auto r = std::from_chars(text.data(), text.data() + text.size(), back);
        return r.ec == std::errc{} && r.ptr == text.data() + text.size() &&
               std::bit_cast<std::uint64_t>(back) == std::bit_cast<std::uint64_t>(v);
    };
    int wrong = 0;
    std::string first_wrong;
    for (const double v : order) {
        for (int repeat = 0; repeat < 3; ++repeat) {
            Features f;
            f.window_min = v;
            f.window_max = -v;
            const std::string line = format(OutputFormat::jsonl, ReadingView{"S", 1.0, v, "C"}, f);
            const std::string min = field(line, R"("windowMin":)");
            const std::string max = field(line, R"("windowMax":)");
            if (!reads_as(min, v) || !reads_as(max, -v) || min != field(line, R"("value":)")) {
                if (wrong == 0) first_wrong = line;
                ++wrong;
            }
        }
    }
    INFO("first wrong line: " << first_wrong);
    CHECK(wrong == 0);
}

TEST_CASE("Non-finite doubles are null in JSON") {
    CHECK(shortest(k_inf) == "null");
    CHECK(shortest(-k_inf) == "null");
    CHECK(shortest(k_nan) == "null");
    Features f;
    f.zscore = k_nan;
    f.window_std = k_inf;
    f.heavy = -k_inf;
    CHECK(format(OutputFormat::jsonl, ReadingView{"S", 1.0, 2.0, "C"}, f, true) ==
          R"({"sensorId":"S","timestamp":1,"value":2,"unit":"C","normalized":0,)"
          R"("feature":0,"windowCount":0,"windowMean":0,"windowStd":null,"windowMin":0,)"
          R"("windowMax":0,"zscore":null,"heavy":null})"
          "\n");
}

TEST_CASE("Non-finite doubles are empty fields in CSV") {
    Features f;
    f.zscore = k_nan;
    f.window_std = k_inf;
    f.heavy = -k_inf;
    CHECK(format(OutputFormat::csv, ReadingView{"S", 1.0, 2.0, "C"}, f, true) ==
          "S,1,2,C,0,0,0,0,,0,0,,\n");
}

TEST_CASE("Non-finite doubles stay float64 in msgpack") {
    Features f;
    f.zscore = k_inf;
    f.window_std = -k_inf;
    f.window_mean = k_nan;
    const std::string out = format(OutputFormat::msgpack, ReadingView{"S", 0.0, 0.0, ""}, f);
    CHECK(out.find("\xa6"s + "zscore" + "\xcb\x7f\xf0\x00\x00\x00\x00\x00\x00"s) !=
          std::string::npos);
    CHECK(out.find("\xa9"s + "windowStd" + "\xcb\xff\xf0\x00\x00\x00\x00\x00\x00"s) !=
          std::string::npos);
    const msgpack::object_handle handle = msgpack::unpack(out.data(), out.size());
    const msgpack::object& obj = handle.get();
    REQUIRE(obj.via.map.size == 12);
    const msgpack::object& mean = obj.via.map.ptr[7].val;
    REQUIRE(mean.type == msgpack::type::FLOAT64);
    CHECK(std::isnan(mean.as<double>()));
}

TEST_CASE("The output format follows the path's extension, ignoring case") {
    CHECK(output_format_for_path("out.jsonl") == OutputFormat::jsonl);
    CHECK(output_format_for_path("out.json") == OutputFormat::jsonl);
    CHECK(output_format_for_path("out.NDJSON") == OutputFormat::jsonl);
    CHECK(output_format_for_path("out.csv") == OutputFormat::csv);
    CHECK(output_format_for_path("/data/run.2024/OUT.Csv") == OutputFormat::csv);
    CHECK(output_format_for_path("out.msgpack") == OutputFormat::msgpack);
    CHECK(output_format_for_path("out.MPK") == OutputFormat::msgpack);
    CHECK(output_format_for_path("out.msgpk") == OutputFormat::msgpack);
    CHECK(output_format_for_path("out.csv.gz") == OutputFormat::jsonl);
    CHECK(output_format_for_path("out.txt") == OutputFormat::jsonl);
    CHECK(output_format_for_path("csv") == OutputFormat::jsonl);
    CHECK(output_format_for_path("dir.csv/out") == OutputFormat::jsonl);
    CHECK(output_format_for_path("out.") == OutputFormat::jsonl);
    CHECK(output_format_for_path("-") == OutputFormat::jsonl);
    CHECK(output_format_for_path("") == OutputFormat::jsonl);
}

TEST_CASE("Output format names map both ways") {
    CHECK(output_format_from_name("jsonl") == OutputFormat::jsonl);
    CHECK(output_format_from_name("csv") == OutputFormat::csv);
    CHECK(output_format_from_name("msgpack") == OutputFormat::msgpack);
    CHECK_FALSE(output_format_from_name("json").has_value());
    CHECK_FALSE(output_format_from_name("CSV").has_value());
    CHECK_FALSE(output_format_from_name("").has_value());
    CHECK(output_format_name(OutputFormat::jsonl) == "jsonl");
    CHECK(output_format_name(OutputFormat::csv) == "csv");
    CHECK(output_format_name(OutputFormat::msgpack) == "msgpack");
}
