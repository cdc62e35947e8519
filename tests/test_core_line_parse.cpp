#include "core/line_parse.hpp"

#include <catch2/catch.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using namespace std::string_literals;
using sluice::core::CsvColumns;
using sluice::core::InputFormat;
using sluice::core::LineError;
using sluice::core::Reading;

namespace {

std::string reason_of(const std::optional<LineError>& error) {
    return error ? std::string(error->reason) : std::string("accepted");
}

std::string csv_error(std::string_view line, const CsvColumns& columns = CsvColumns::positional()) {
    Reading r;
    return reason_of(sluice::core::parse_csv_line(columns, line, "u", r));
}

std::string json_error(std::string_view line) {
    Reading r;
    return reason_of(sluice::core::parse_json_line(line, "u", r));
}

std::string header_error(std::string_view line) {
    CsvColumns c;
    return reason_of(sluice::core::parse_csv_header(line, c));
}

std::string escaped(std::string_view raw) {
    std::string out;
    sluice::core::append_json_escaped(out, raw);
    return out;
}

bool accepted_reading_is_valid(const Reading& r) {
    return sluice::core::validate(r.sensor_id, r.timestamp, r.value, r.unit) ==
           sluice::core::Invalid::none;
}

} // namespace

TEST_CASE("input formats are named csv and jsonl") {
    CHECK(sluice::core::input_format_from_name("csv") == InputFormat::csv);
    CHECK(sluice::core::input_format_from_name("jsonl") == InputFormat::jsonl);
    CHECK_FALSE(sluice::core::input_format_from_name("JSONL"));
    CHECK_FALSE(sluice::core::input_format_from_name("json"));
    CHECK_FALSE(sluice::core::input_format_from_name(""));
    CHECK(sluice::core::input_format_name(InputFormat::csv) == "csv");
    CHECK(sluice::core::input_format_name(InputFormat::jsonl) == "jsonl");
}

TEST_CASE("a CSV header may list its columns in any order") {
    CsvColumns c;
    REQUIRE_FALSE(sluice::core::parse_csv_header("unit,value,sensorId,timestamp", c));
    CHECK(c.sensor_id == 2);
    CHECK(c.timestamp == 3);
    CHECK(c.value == 1);
    CHECK(c.unit == 0);
    CHECK(c.count == 4);
}

TEST_CASE("a CSV header may have extra columns and no unit column") {
    CsvColumns c;
    REQUIRE_FALSE(sluice::core::parse_csv_header("site,timestamp,sensorId,quality,value", c));
    CHECK(c.sensor_id == 2);
    CHECK(c.timestamp == 1);
    CHECK(c.value == 4);
    CHECK(c.unit == -1);
    CHECK(c.count == 5);
}

TEST_CASE("a CSV header ignores a BOM, surrounding spaces, quotes and CRLF") {
    CsvColumns c;
    REQUIRE_FALSE(
        sluice::core::parse_csv_header("\xEF\xBB\xBF sensorId , \"timestamp\",\"value\"\r", c));
    CHECK(c.sensor_id == 0);
    CHECK(c.timestamp == 1);
    CHECK(c.value == 2);
    CHECK(c.unit == -1);
    CHECK(c.count == 3);
}

TEST_CASE("a CSV header without a required column is refused") {
    CHECK(header_error("sensorId,timestamp,unit") == "missing column value");
    CHECK(header_error("timestamp,value") == "missing column sensorId");
    CHECK(header_error("sensorId,value,unit") == "missing column timestamp");
    CHECK(header_error("SensorId,timestamp,value") == "missing column sensorId");
    CHECK(header_error("") == "empty CSV header");
    CHECK(header_error("\r") == "empty CSV header");
}

TEST_CASE("a CSV header that names a known column twice is refused") {
    CHECK(header_error("sensorId,timestamp,value,sensorId") == "duplicate column sensorId");
    CHECK(header_error("unit,sensorId,timestamp,value,unit") == "duplicate column unit");
    CHECK(header_error("sensorId,timestamp,value, value") == "duplicate column value");
    CHECK(header_error("x,x,sensorId,timestamp,value") == "accepted");
}

TEST_CASE("a refused CSV header leaves the columns untouched") {
    CsvColumns c{7, 8, 9, 10, 11};
    REQUIRE(sluice::core::parse_csv_header("sensorId,\"timestamp,value", c));
    CHECK(c.sensor_id == 7);
    CHECK(c.count == 11);
}

TEST_CASE("a positional CSV line reads sensorId, timestamp, value and unit") {
    Reading r;
    REQUIRE_FALSE(
        sluice::core::parse_csv_line(CsvColumns::positional(), "s1,1700000000.5,21.25,C", "u", r));
    CHECK(r.sensor_id == "s1");
    CHECK(r.timestamp == 1700000000.5);
    CHECK(r.value == 21.25);
    CHECK(r.unit == "C");
}

TEST_CASE("a positional CSV line without a unit takes the default unit") {
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_csv_line(CsvColumns::positional(), "s1,1,2", "m/s", r));
    CHECK(r.unit == "m/s");
    REQUIRE_FALSE(sluice::core::parse_csv_line(CsvColumns::positional(), "s1,1,2,", "m/s", r));
    CHECK(r.unit == "m/s");
    REQUIRE_FALSE(sluice::core::parse_csv_line(CsvColumns::positional(), "s1,1,2,\"\"", "m/s", r));
    CHECK(r.unit == "m/s");
}

TEST_CASE("a positional CSV line ignores columns after the unit") {
    Reading r;
    REQUIRE_FALSE(
        sluice::core::parse_csv_line(CsvColumns::positional(), "s1,1,2,C,extra,\"x,y\"", "u", r));
    CHECK(r.sensor_id == "s1");
    CHECK(r.value == 2.0);
    CHECK(r.unit == "C");
}

TEST_CASE("a CSV line follows the columns of its header") {
    CsvColumns c;
    REQUIRE_FALSE(sluice::core::parse_csv_header("unit,value,sensorId,timestamp", c));
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_csv_line(c, "kPa,101.5,p1,10", "u", r));
    CHECK(r.sensor_id == "p1");
    CHECK(r.timestamp == 10.0);
    CHECK(r.value == 101.5);
    CHECK(r.unit == "kPa");
    REQUIRE_FALSE(sluice::core::parse_csv_line(c, ",101.5,p1,10", "bar", r));
    CHECK(r.unit == "bar");
    CHECK(csv_error("kPa,101.5,p1", c) == "missing field timestamp");
}

TEST_CASE("a CSV line without a unit column in its header takes the default unit") {
    CsvColumns c;
    REQUIRE_FALSE(sluice::core::parse_csv_header("site,timestamp,sensorId,quality,value", c));
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_csv_line(c, "north,5,s9,good,-1.25", "degC", r));
    CHECK(r.sensor_id == "s9");
    CHECK(r.timestamp == 5.0);
    CHECK(r.value == -1.25);
    CHECK(r.unit == "degC");
    CHECK(csv_error("north,5,s9,good", c) == "missing field value");
}

TEST_CASE("quoted CSV fields may hold commas and doubled quotes") {
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_csv_line(CsvColumns::positional(),
                                               R"("a, ""b""",1,2,"deg ""C""")", "u", r));
    CHECK(r.sensor_id == R"(a, "b")");
    CHECK(r.unit == R"(deg "C")");
    REQUIRE_FALSE(
        sluice::core::parse_csv_line(CsvColumns::positional(), R"("""",1,2,"""x""")", "u", r));
    CHECK(r.sensor_id == R"(")");
    CHECK(r.unit == R"("x")");
}

TEST_CASE("quoted CSV numbers are read as numbers") {
    Reading r;
    REQUIRE_FALSE(
        sluice::core::parse_csv_line(CsvColumns::positional(), R"(s,"1.5"," 2 ")", "u", r));
    CHECK(r.timestamp == 1.5);
    CHECK(r.value == 2.0);
    CHECK(csv_error(R"(s,1,"2""")") == "value is not a number");
}

TEST_CASE("spaces around CSV fields are ignored but kept inside quotes") {
    Reading r;
    REQUIRE_FALSE(
        sluice::core::parse_csv_line(CsvColumns::positional(), " s1 ,\t1 , 2 , C ", "u", r));
    CHECK(r.sensor_id == "s1");
    CHECK(r.timestamp == 1.0);
    CHECK(r.value == 2.0);
    CHECK(r.unit == "C");
    REQUIRE_FALSE(
        sluice::core::parse_csv_line(CsvColumns::positional(), R"( " s1 " ,1,2)", "u", r));
    CHECK(r.sensor_id == " s1 ");
}

TEST_CASE("a quote inside an unquoted CSV field is an ordinary character") {
    Reading r;
    REQUIRE_FALSE(
        sluice::core::parse_csv_line(CsvColumns::positional(), R"(pipe 5",1,2,in")", "u", r));
    CHECK(r.sensor_id == R"(pipe 5")");
    CHECK(r.unit == R"(in")");
}

TEST_CASE("malformed CSV quoting is refused") {
    CHECK(csv_error(R"("abc,1,2)") == "unterminated quoted field");
    CHECK(csv_error(R"(abc,1,2,"C)") == "unterminated quoted field");
    CHECK(csv_error(R"(abc,1,2,C,")") == "unterminated quoted field");
    CHECK(csv_error(R"("abc"x,1,2)") == "unexpected characters after closing quote");
    CHECK(csv_error(R"("abc" "d",1,2)") == "unexpected characters after closing quote");
    CHECK(csv_error(R"(abc,1,2,C,"x"y)") == "unexpected characters after closing quote");
}

TEST_CASE("a CSV line with CRLF ending is read as if it had none") {
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_csv_line(CsvColumns::positional(), "s,1,2\r", "u", r));
    CHECK(r.value == 2.0);
    CHECK(r.unit == "u");
    REQUIRE_FALSE(sluice::core::parse_csv_line(CsvColumns::positional(), "s,1,2,C\r", "u", r));
    CHECK(r.unit == "C");
    REQUIRE_FALSE(sluice::core::parse_csv_line(CsvColumns::positional(), "s,1,2,\"C\"\r", "u", r));
    CHECK(r.unit == "C");
}

TEST_CASE("a CSV line with missing or empty fields is refused") {
    CHECK(csv_error("s,1") == "missing field value");
    CHECK(csv_error("s") == "missing field timestamp");
    CHECK(csv_error("s,,2") == "missing field timestamp");
    CHECK(csv_error("s,1,  ") == "missing field value");
    CHECK(csv_error("s,1,\"\"") == "missing field value");
    CHECK(csv_error(",1,2") == "sensorId is empty");
    CHECK(csv_error("") == "empty line");
    CHECK(csv_error("\r") == "empty line");
}

TEST_CASE("CSV numbers must be whole decimal numbers") {
    CHECK(csv_error("s,abc,2") == "timestamp is not a number");
    CHECK(csv_error("s,1,2x") == "value is not a number");
    CHECK(csv_error("s,1,2 3") == "value is not a number");
    CHECK(csv_error("s,1,+2") == "value is not a number");
    CHECK(csv_error("s,1,0x10") == "value is not a number");
    CHECK(csv_error("s,1,1e999") == "value is out of range");
    CHECK(csv_error("s,-1e999,1") == "timestamp is out of range");
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_csv_line(CsvColumns::positional(), "s,1e3,-.5", "u", r));
    CHECK(r.timestamp == 1000.0);
    CHECK(r.value == -0.5);
}

TEST_CASE("NaN and infinite CSV values are refused") {
    CHECK(csv_error("s,1,nan") == "value is not finite");
    CHECK(csv_error("s,1,NaN") == "value is not finite");
    CHECK(csv_error("s,1,inf") == "value is not finite");
    CHECK(csv_error("s,1,-Infinity") == "value is not finite");
    CHECK(csv_error("s,1,INF") == "value is not finite");
    CHECK(csv_error("s,inf,1") == "timestamp is not finite");
    CHECK(csv_error("s,nan,1") == "timestamp is not finite");
}

TEST_CASE("a JSON line reads sensorId, timestamp, value and unit") {
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_json_line(
        R"({"sensorId":"t1","timestamp":1700000000,"value":-3.5e2,"unit":"C"})", "u", r));
    CHECK(r.sensor_id == "t1");
    CHECK(r.timestamp == 1700000000.0);
    CHECK(r.value == -350.0);
    CHECK(r.unit == "C");
    REQUIRE_FALSE(sluice::core::parse_json_line(
        " \t{ \"value\" : 1.5E+3 , \"timestamp\" : -0 , \"sensorId\" : \"z\" } \t", "u", r));
    CHECK(r.value == 1500.0);
    CHECK(r.timestamp == 0.0);
    CHECK(r.sensor_id == "z");
}

TEST_CASE("a JSON line without a unit or with an empty unit takes the default unit") {
    Reading r;
    REQUIRE_FALSE(
        sluice::core::parse_json_line(R"({"sensorId":"a","timestamp":1,"value":2})", "hPa", r));
    CHECK(r.unit == "hPa");
    REQUIRE_FALSE(sluice::core::parse_json_line(
        R"({"sensorId":"a","timestamp":1,"value":2,"unit":""})", "hPa", r));
    CHECK(r.unit == "hPa");
}

TEST_CASE("a JSON line with CRLF ending is accepted") {
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_json_line(
        "{\"sensorId\":\"a\",\"timestamp\":1,\"value\":2}\r", "u", r));
    CHECK(r.value == 2.0);
}

TEST_CASE("JSON values of the wrong type are refused") {
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":"12"})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":null})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":true})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":[1]})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":{"v":1}})") ==
          "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":"1","value":2})") ==
          "timestamp is not a number");
    CHECK(json_error(R"({"sensorId":12,"timestamp":1,"value":2})") == "sensorId is not a string");
    CHECK(json_error(R"({"sensorId":null,"timestamp":1,"value":2})") == "sensorId is not a string");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":2,"unit":5})") ==
          "unit is not a string");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":2,"unit":null})") ==
          "unit is not a string");
}

TEST_CASE("JSON numbers must follow the JSON grammar") {
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":NaN})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":Infinity})") ==
          "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":-Infinity})") ==
          "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":+1})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":.5})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":1.})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":1e})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":-})") == "value is not a number");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":01})") == "invalid JSON");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":0x10})") == "invalid JSON");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":1e999})") == "value is out of range");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1e999,"value":1})") ==
          "timestamp is out of range");
}

TEST_CASE("a JSON line without a required key is refused") {
    CHECK(json_error(R"({"timestamp":1,"value":2})") == "missing field sensorId");
    CHECK(json_error(R"({"sensorId":"a","value":2})") == "missing field timestamp");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1})") == "missing field value");
    CHECK(json_error(R"({})") == "missing field sensorId");
    CHECK(json_error(R"({"sensorid":"a","Timestamp":1,"value":2})") == "missing field sensorId");
    CHECK(json_error(R"({"sensorId":"","timestamp":1,"value":2})") == "sensorId is empty");
}

TEST_CASE("a JSON line that repeats a known key is refused") {
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":2,"value":3})") ==
          "duplicate key value");
    CHECK(json_error(R"({"sensorId":"a","sensorId":"b","timestamp":1,"value":2})") ==
          "duplicate key sensorId");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"timestamp":1,"value":2})") ==
          "duplicate key timestamp");
    CHECK(json_error(R"({"unit":"a","sensorId":"a","timestamp":1,"value":2,"unit":"b"})") ==
          "duplicate key unit");
    CHECK(json_error(R"({"x":1,"x":2,"sensorId":"a","timestamp":1,"value":2})") == "accepted");
}

TEST_CASE("a truncated JSON line is refused") {
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"val)") == "unterminated string");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":2)") == "JSON object is truncated");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":)") == "JSON object is truncated");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":2,)") == "JSON object is truncated");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value")") == "JSON object is truncated");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"x":[1,)") == "JSON object is truncated");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"x":tru)") == "invalid JSON");
    CHECK(json_error("{") == "JSON object is truncated");
}

TEST_CASE("malformed JSON objects are refused") {
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":2,})") == "invalid JSON");
    CHECK(json_error(R"({"sensorId":"a" "timestamp":1,"value":2})") == "invalid JSON");
    CHECK(json_error(R"({"sensorId" "a","timestamp":1,"value":2})") == "invalid JSON");
    CHECK(json_error(R"({sensorId:"a","timestamp":1,"value":2})") == "invalid JSON");
    CHECK(json_error(R"({'sensorId':'a','timestamp':1,'value':2})") == "invalid JSON");
    CHECK(json_error(R"({"x":[1,],"sensorId":"a","timestamp":1,"value":2})") == "invalid JSON");
    CHECK(json_error(R"({"x":{"a"},"sensorId":"a","timestamp":1,"value":2})") == "invalid JSON");
    CHECK(json_error(R"({"x":nul,"sensorId":"a","timestamp":1,"value":2})") == "invalid JSON");
    CHECK(json_error("{\"sensorId\":\"a\tb\",\"timestamp\":1,\"value\":2}") ==
          "control character in string");
}

TEST_CASE("anything but whitespace after the JSON object is refused") {
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":2} x)") ==
          "trailing characters after JSON object");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":2}{"sensorId":"b"})") ==
          "trailing characters after JSON object");
    CHECK(json_error(R"({"sensorId":"a","timestamp":1,"value":2},)") ==
          "trailing characters after JSON object");
    CHECK(json_error("{\"sensorId\":\"a\",\"timestamp\":1,\"value\":2}\0"s) ==
          "trailing characters after JSON object");
    CHECK(json_error("{\"sensorId\":\"a\",\"timestamp\":1,\"value\":2} \t\r\n") == "accepted");
}

TEST_CASE("a JSON line that is not an object is refused") {
    CHECK(json_error("[1,2]") == "not a JSON object");
    CHECK(json_error(R"("sensorId")") == "not a JSON object");
    CHECK(json_error("12") == "not a JSON object");
    CHECK(json_error("null") == "not a JSON object");
    CHECK(json_error("s,1,2") == "not a JSON object");
    CHECK(json_error("") == "empty line");
    CHECK(json_error("  \r") == "empty line");
}

TEST_CASE("nested JSON values under other keys are ignored") {
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_json_line(
        R"({"meta":{"a":[1,2.5e-3,{"b":null}],"c":"x\"}"},"sensorId":"s","tags":[],)"
        R"("timestamp":1,"value":2,"ok":true,"no":false,"e":{},"n":-0.0})",
        "u", r));
    CHECK(r.sensor_id == "s");
    CHECK(r.timestamp == 1.0);
    CHECK(r.value == 2.0);
    CHECK(r.unit == "u");
}

TEST_CASE("JSON string escapes are decoded, surrogate pairs included") {
    Reading r;
    REQUIRE_FALSE(sluice::core::parse_json_line(
        R"({"sensorId":"\u00e9\ud83d\ude00\n\"\\\/\b\f\r\t","timestamp":1,"value":2,"unit":"\u00B0C"})",
        "u", r));
    CHECK(r.sensor_id == "\xC3\xA9\xF0\x9F\x98\x80\n\"\\/\b\f\r\t");
    CHECK(r.unit == "\xC2\xB0"
                    "C");
    REQUIRE_FALSE(
        sluice::core::parse_json_line(R"({"sensor\u0049d":"k","timestamp":1,"value":2})", "u", r));
    CHECK(r.sensor_id == "k");
    REQUIRE_FALSE(sluice::core::parse_json_line(
        R"({"sensorId":"a\u0000b","timestamp":1,"value":2})", "u", r));
    CHECK(r.sensor_id == "a\0b"s);
}

TEST_CASE("invalid JSON escapes and lone surrogates are refused") {
    CHECK(json_error(R"({"sensorId":"\ud83d","timestamp":1,"value":2})") ==
          "lone surrogate in \\u escape");
    CHECK(json_error(R"({"sensorId":"\ude00","timestamp":1,"value":2})") ==
          "lone surrogate in \\u escape");
    CHECK(json_error(R"({"sensorId":"\ud83d\u0041","timestamp":1,"value":2})") ==
          "lone surrogate in \\u escape");
    CHECK(json_error(R"({"x":"\ud83dx","sensorId":"a","timestamp":1,"value":2})") ==
          "lone surrogate in \\u escape");
    CHECK(json_error(R"({"sensorId":"\x41","timestamp":1,"value":2})") ==
          "invalid escape in string");
    CHECK(json_error(R"({"sensorId":"\u12g4","timestamp":1,"value":2})") ==
          "invalid escape in string");
    CHECK(json_error(R"({"sensorId":"\u12)") == "invalid escape in string");
    CHECK(json_error(R"({"sensorId":"\)") == "unterminated string");
}

TEST_CASE("deeply nested JSON is refused without exhausting the stack") {
    const std::string deep_object = R"({"x":)" + std::string(100000, '[');
    CHECK(json_error(deep_object) == "JSON nesting is too deep");
    CHECK(json_error(std::string(100000, '[')) == "not a JSON object");
    CHECK(json_error(std::string(100000, '{')) == "invalid JSON");
    const auto nested = [](int depth) {
        return R"({"sensorId":"a","timestamp":1,"value":2,"x":)" + std::string(depth, '[') +
               std::string(depth, ']') + "}";
    };
    CHECK(json_error(nested(63)) == "accepted");
    CHECK(json_error(nested(64)) == "JSON nesting is too deep");
}

TEST_CASE("sensorId up to 256 bytes and unit up to 32 bytes are accepted") {
    const std::string id256(256, 'a');
    const std::string unit32(32, 'b');
    CHECK(csv_error(id256 + ",1,2," + unit32) == "accepted");
    CHECK(json_error(R"({"sensorId":")" + id256 + R"(","timestamp":1,"value":2,"unit":")" + unit32 +
                     R"("})") == "accepted");
}

TEST_CASE("sensorId over 256 bytes and unit over 32 bytes are refused") {
    const std::string id257(257, 'a');
    const std::string unit33(33, 'b');
    CHECK(csv_error(id257 + ",1,2") == "sensorId is longer than 256 bytes");
    CHECK(csv_error("s,1,2," + unit33) == "unit is longer than 32 bytes");
    CHECK(json_error(R"({"sensorId":")" + id257 + R"(","timestamp":1,"value":2})") ==
          "sensorId is longer than 256 bytes");
    CHECK(json_error(R"({"sensorId":"s","timestamp":1,"value":2,"unit":")" + unit33 + R"("})") ==
          "unit is longer than 32 bytes");
}

TEST_CASE("a default unit longer than 32 bytes is refused like any other unit") {
    Reading r;
    const std::string unit33(33, 'b');
    CHECK(reason_of(sluice::core::parse_csv_line(CsvColumns::positional(), "s,1,2", unit33, r)) ==
          "unit is longer than 32 bytes");
}

TEST_CASE("invalid UTF-8 is refused") {
    CHECK(csv_error("\xC3(,1,2") == "sensorId is not valid UTF-8");
    CHECK(csv_error("\xC0\xAF,1,2") == "sensorId is not valid UTF-8");
    CHECK(csv_error("\xED\xA0\x80,1,2") == "sensorId is not valid UTF-8");
    CHECK(csv_error("s,1,2,\xFF") == "unit is not valid UTF-8");
    CHECK(json_error("{\"sensorId\":\"\xC3(\",\"timestamp\":1,\"value\":2}") ==
          "sensorId is not valid UTF-8");
    CHECK(json_error("{\"sensorId\":\"s\",\"timestamp\":1,\"value\":2,\"unit\":\"\xF8\"}") ==
          "unit is not valid UTF-8");
    CHECK(json_error("{\"note\":\"\xFF\",\"sensorId\":\"s\",\"timestamp\":1,\"value\":2}") ==
          "line is not valid UTF-8");
    CHECK(json_error("{\"\xC3\":1,\"sensorId\":\"s\",\"timestamp\":1,\"value\":2}") ==
          "line is not valid UTF-8");
    CHECK(json_error("{\"sensorId\":\"\xC3\xA9\",\"timestamp\":1,\"value\":2}") == "accepted");
}

TEST_CASE("a BOM before a data line is ignored") {
    Reading r;
    REQUIRE_FALSE(
        sluice::core::parse_csv_line(CsvColumns::positional(), "\xEF\xBB\xBFs,1,2", "u", r));
    CHECK(r.sensor_id == "s");
    REQUIRE_FALSE(sluice::core::parse_json_line(
        "\xEF\xBB\xBF{\"sensorId\":\"j\",\"timestamp\":1,\"value\":2}", "u", r));
    CHECK(r.sensor_id == "j");
}

TEST_CASE("binary garbage is refused") {
    const std::vector<std::string> garbage = {
        "\0\0\0\0"s,
        "\0,\0,\0"s,
        "\xFF\xFE\x00\x01{\x00}"s,
        "{\0\"sensorId\":\"a\"}"s,
        "{\"sensorId\":\"a\0\",\"timestamp\":1,\"value\":2}"s,
        "\x89PNG\r\n\x1A\n\0\0\0\rIHDR"s,
        "\"\0\""s,
    };
    for (const std::string& line : garbage) {
        CAPTURE(line);
        Reading r;
        CHECK(sluice::core::parse_csv_line(CsvColumns::positional(), line, "u", r));
        CHECK(sluice::core::parse_json_line(line, "u", r));
    }
}

TEST_CASE("parse_line dispatches on the input format") {
    Reading r;
    REQUIRE_FALSE(
        sluice::core::parse_line(InputFormat::csv, CsvColumns::positional(), "c,1,2", "u", r));
    CHECK(r.sensor_id == "c");
    REQUIRE_FALSE(sluice::core::parse_line(InputFormat::jsonl, CsvColumns::positional(),
                                           R"({"sensorId":"j","timestamp":1,"value":2})", "u", r));
    CHECK(r.sensor_id == "j");
    CHECK(sluice::core::parse_line(InputFormat::jsonl, CsvColumns::positional(), "c,1,2", "u", r));
}

TEST_CASE("append_json_escaped escapes quotes, backslashes and control characters") {
    CHECK(escaped(R"(a"b\c)") == R"(a\"b\\c)");
    CHECK(escaped("\n\r\t\b\f") == R"(\n\r\t\b\f)");
    CHECK(escaped("\x01\x1F") == R"(\u0001\u001f)");
    CHECK(escaped("\0"s) == R"(\u0000)");
    CHECK(escaped("\x7F/") == "\x7F/");
    CHECK(escaped("") == "");
}

TEST_CASE("append_json_escaped keeps valid UTF-8 and escapes every invalid byte") {
    CHECK(escaped("\xC3\xA9\xF0\x9F\x98\x80") == "\xC3\xA9\xF0\x9F\x98\x80");
    CHECK(escaped("\xFF") == R"(\u00ff)");
    CHECK(escaped("\xC3") == R"(\u00c3)");
    CHECK(escaped("\xC3(") == R"(\u00c3()");
    CHECK(escaped("\xF0\x9F\x98") == R"(\u00f0\u009f\u0098)");
    CHECK(escaped("\xC0\xAF") == R"(\u00c0\u00af)");
    CHECK(escaped("\xED\xA0\x80") == R"(\u00ed\u00a0\u0080)");
    CHECK(escaped("\xF4\x90\x80\x80") == R"(\u00f4\u0090\u0080\u0080)");
    CHECK(escaped("a\x80"
                  "b") == R"(a\u0080b)");
}

TEST_CASE("append_json_escaped appends to what is already there") {
    std::string out = "x";
    sluice::core::append_json_escaped(out, "y\"");
    CHECK(out == R"(xy\")");
}

TEST_CASE("random bytes and mutated lines never crash and accepted readings are valid") {
    std::mt19937 rng(20240611);
    const std::string alphabet = "{}[]\",:\\ \t\r\n0123456789.-+eEaunlstrfx";
    const std::vector<std::string> valid = {
        R"({"sensorId":"t1","timestamp":1700000000,"value":-3.5e2,"unit":"C"})",
        R"({"x":[{"y":"\ud83d\ude00"}],"sensorId":"a\"b","timestamp":1,"value":2})",
        "s1,1700000000.5,21.25,C",
        R"("a, ""b""",1,2,"deg ""C""")",
        "sensorId,timestamp,value,unit",
    };
    const auto random_byte = [&]() {
        if (rng() % 2 == 0) return alphabet[rng() % alphabet.size()];
        return static_cast<char>(rng() % 256);
    };
    std::vector<std::string> inputs;
    for (int i = 0; i < 20000; ++i) {
        std::string s(rng() % 64, '\0');
        for (char& ch : s) ch = random_byte();
        inputs.push_back(std::move(s));
    }
    for (int i = 0; i < 20000; ++i) {
        std::string s = valid[rng() % valid.size()];
        const int edits = 1 + static_cast<int>(rng() % 4);
        for (int e = 0; e < edits && !s.empty(); ++e) {
            const std::size_t at = rng() % s.size();
            switch (rng() % 4) {
            case 0:
                s[at] = random_byte();
                break;
            case 1:
                s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), random_byte());
                break;
            case 2:
                s.erase(at, 1);
                break;
            default:
                s.resize(at);
                break;
            }
        }
        inputs.push_back(std::move(s));
    }
    int accepted = 0;
    int bad = 0;
    for (const std::string& line : inputs) {
        Reading r;
        if (!sluice::core::parse_json_line(line, "u", r)) {
            ++accepted;
            if (!accepted_reading_is_valid(r)) ++bad;
        }
        if (!sluice::core::parse_csv_line(CsvColumns::positional(), line, "u", r)) {
            ++accepted;
            if (!accepted_reading_is_valid(r)) ++bad;
        }
        CsvColumns columns;
        if (!sluice::core::parse_csv_header(line, columns)) {
            if (columns.sensor_id < 0 || columns.timestamp < 0 || columns.value < 0) ++bad;
        }
        const std::string out = escaped(line);
        if (!sluice::core::is_valid_utf8(out)) ++bad;
        for (const char ch : out) {
            if (static_cast<unsigned char>(ch) < 0x20) ++bad;
        }
    }
    CHECK(bad == 0);
    CHECK(accepted > 0);
}

// ---- Clinger's fast path, against std::from_chars (the oracle: correctly rounded) ----

namespace {

std::uint64_t bits_of(double d) {
    std::uint64_t b = 0;
    std::memcpy(&b, &d, sizeof b);
    return b;
}

double from_chars_value(std::string_view text) {
    double d = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), d);
    REQUIRE(ec == std::errc{});
    REQUIRE(ptr == text.data() + text.size());
    return d;
}

} // namespace

TEST_CASE("The decimal fast path gives std::from_chars's double for plain decimals") {
    std::mt19937_64 rng(20261202);
    std::size_t fast = 0;
    const std::size_t total = 1'000'000;
    for (std::size_t i = 0; i < total; ++i) {
        std::string text = rng() % 2 ? "-" : "";
        const auto integer_digits = 1 + rng() % 12;
        const auto fraction_digits = rng() % 19;
        for (std::size_t k = 0; k < integer_digits; ++k)
            text += static_cast<char>('0' + rng() % 10);
        if (fraction_digits > 0) text += '.';
        for (std::size_t k = 0; k < fraction_digits; ++k)
            text += static_cast<char>('0' + rng() % 10);
        double d = 0;
        if (!sluice::core::plain_decimal_to_double(text, d)) continue;
        ++fast;
        INFO(text);
        REQUIRE(bits_of(d) == bits_of(from_chars_value(text)));
    }
    // Most of these have at most 16 digits: the fast path must have taken them.
    CHECK(fast > total / 2);
}

TEST_CASE(
    "The decimal fast path takes record-like numbers and leaves the rest to std::from_chars") {
    const auto fast = [](std::string_view text) {
        double d = 0;
        if (!sluice::core::plain_decimal_to_double(text, d)) return false;
        INFO(text);
        CHECK(bits_of(d) == bits_of(from_chars_value(text)));
        return true;
    };
    for (const char* text :
         {"48.14298806616719", "1700000000.001", "-0", "-0.0", "0", "7", "007.50",
          "9007199254740992", "0.9007199254740992", "0.000000000000000001", "-123456789.0123456"})
        CHECK(fast(text));
    // 2^53 + 1 as digits, 20 digits (one a wrapping w), and the forms std::from_chars decides.
    for (const char* text : {"9007199254740993",
                             "0.9007199254740993",
                             "0.0000000000000000001",
                             "18446744073709551617",
                             "00000000000000000001",
                             "1e5",
                             "1E-5",
                             "+5",
                             " 5",
                             "5 ",
                             "5.",
                             ".5",
                             "-.5",
                             ".",
                             "-",
                             "",
                             "--5",
                             "1.2.3",
                             "nan",
                             "inf",
                             "0x10",
                             "1_000"})
        CHECK_FALSE(fast(text));
    double d = 0;
    REQUIRE(sluice::core::plain_decimal_to_double("-0", d));
    CHECK(std::signbit(d));
}
