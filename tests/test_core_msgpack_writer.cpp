#include "core/msgpack_reader.hpp"
#include "core/msgpack_writer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <msgpack.hpp>
#include <string>
#include <string_view>
#include <vector>

using sluice::core::MsgReader;
using sluice::core::MsgWriter;

namespace {

std::string bytes(std::initializer_list<int> list) {
    std::string out;
    for (const int b : list) out.push_back(static_cast<char>(b));
    return out;
}

std::string uint_bytes(std::uint64_t v) {
    std::string out;
    MsgWriter(out).uint(v);
    return out;
}

std::string float_bytes(double v) {
    std::string out;
    MsgWriter(out).float64(v);
    return out;
}

std::string array_bytes(std::uint32_t n) {
    std::string out;
    MsgWriter(out).array(n);
    return out;
}

std::string map_bytes(std::uint32_t n) {
    std::string out;
    MsgWriter(out).map(n);
    return out;
}

} // namespace

TEST_CASE("uint is written in the smallest form at every boundary", "[msgpack_writer]") {
    CHECK(uint_bytes(0) == bytes({0x00}));
    CHECK(uint_bytes(127) == bytes({0x7f}));
    CHECK(uint_bytes(128) == bytes({0xcc, 0x80}));
    CHECK(uint_bytes(255) == bytes({0xcc, 0xff}));
    CHECK(uint_bytes(256) == bytes({0xcd, 0x01, 0x00}));
    CHECK(uint_bytes(65535) == bytes({0xcd, 0xff, 0xff}));
    CHECK(uint_bytes(65536) == bytes({0xce, 0x00, 0x01, 0x00, 0x00}));
    CHECK(uint_bytes(4294967295u) == bytes({0xce, 0xff, 0xff, 0xff, 0xff}));
    CHECK(uint_bytes(4294967296u) == bytes({0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00}));
    CHECK(uint_bytes(0x0102030405060708u) ==
          bytes({0xcf, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08}));
    CHECK(uint_bytes(std::numeric_limits<std::uint64_t>::max()) ==
          bytes({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
}

TEST_CASE("str headers are fixstr, str8, str16 or str32 by length", "[msgpack_writer]") {
    struct Case {
        std::size_t length;
        std::string header;
    };
    const std::vector<Case> cases = {
        {0, bytes({0xa0})},
        {1, bytes({0xa1})},
        {31, bytes({0xbf})},
        {32, bytes({0xd9, 0x20})},
        {255, bytes({0xd9, 0xff})},
        {256, bytes({0xda, 0x01, 0x00})},
        {65535, bytes({0xda, 0xff, 0xff})},
        {65536, bytes({0xdb, 0x00, 0x01, 0x00, 0x00})},
        {70000, bytes({0xdb, 0x00, 0x01, 0x11, 0x70})},
    };
    for (const Case& c : cases) {
        INFO("length " << c.length);
        std::string payload(c.length, 'a');
        for (std::size_t i = 0; i < payload.size(); ++i)
            payload[i] = static_cast<char>('a' + static_cast<int>(i % 26));
        std::string out;
        MsgWriter(out).str(payload);
        CHECK(out.size() == c.header.size() + c.length);
        CHECK(out.substr(0, c.header.size()) == c.header);
        CHECK(out.substr(c.header.size()) == payload);
    }
}

TEST_CASE("str appends to what the buffer already holds", "[msgpack_writer]") {
    std::string out = "xy";
    MsgWriter w(out);
    w.str("ab");
    w.uint(1);
    CHECK(out == bytes({'x', 'y', 0xa2, 'a', 'b', 0x01}));
}

TEST_CASE("bin headers are bin8, bin16 or bin32 by length, and MsgReader reads the bin back",
          "[msgpack_writer]") {
    auto header = [](std::uint32_t n) {
        std::string out;
        MsgWriter(out).bin_header(n);
        return out;
    };
    CHECK(header(0) == bytes({0xc4, 0x00}));
    CHECK(header(255) == bytes({0xc4, 0xff}));
    CHECK(header(256) == bytes({0xc5, 0x01, 0x00}));
    CHECK(header(65535) == bytes({0xc5, 0xff, 0xff}));
    CHECK(header(65536) == bytes({0xc6, 0x00, 0x01, 0x00, 0x00}));
    for (const std::uint32_t n : {0u, 3u, 255u, 256u, 70000u}) {
        INFO("bin of " << n << " bytes");
        std::string out = header(n) + std::string(n, 'z');
        MsgReader r(out);
        std::string_view got;
        REQUIRE(r.read_bin(got));
        CHECK(got == std::string(n, 'z'));
        CHECK(r.at_end());
    }
}

TEST_CASE("array and map headers are fix, 16 or 32 by count", "[msgpack_writer]") {
    CHECK(array_bytes(0) == bytes({0x90}));
    CHECK(array_bytes(15) == bytes({0x9f}));
    CHECK(array_bytes(16) == bytes({0xdc, 0x00, 0x10}));
    CHECK(array_bytes(65535) == bytes({0xdc, 0xff, 0xff}));
    CHECK(array_bytes(65536) == bytes({0xdd, 0x00, 0x01, 0x00, 0x00}));
    CHECK(array_bytes(4294967295u) == bytes({0xdd, 0xff, 0xff, 0xff, 0xff}));
    CHECK(map_bytes(0) == bytes({0x80}));
    CHECK(map_bytes(15) == bytes({0x8f}));
    CHECK(map_bytes(16) == bytes({0xde, 0x00, 0x10}));
    CHECK(map_bytes(65535) == bytes({0xde, 0xff, 0xff}));
    CHECK(map_bytes(65536) == bytes({0xdf, 0x00, 0x01, 0x00, 0x00}));
}

TEST_CASE("float64 is always 0xcb and the big-endian IEEE bits, even for -0.0 and integers",
          "[msgpack_writer]") {
    CHECK(float_bytes(1.0) == bytes({0xcb, 0x3f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
    CHECK(float_bytes(0.0) == bytes({0xcb, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
    CHECK(float_bytes(-0.0) == bytes({0xcb, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
    CHECK(float_bytes(0.1) == bytes({0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a}));
    CHECK(float_bytes(-2.5) == bytes({0xcb, 0xc0, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
    CHECK(float_bytes(1700000000.0) ==
          bytes({0xcb, 0x41, 0xd9, 0x54, 0xfc, 0x40, 0x00, 0x00, 0x00}));
    CHECK(float_bytes(std::numeric_limits<double>::infinity()) ==
          bytes({0xcb, 0x7f, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}));
}

TEST_CASE("boolean is 0xc3 for true and 0xc2 for false", "[msgpack_writer]") {
    std::string out;
    MsgWriter w(out);
    w.boolean(true);
    w.boolean(false);
    CHECK(out == bytes({0xc3, 0xc2}));
}

TEST_CASE("what MsgWriter writes MsgReader reads back unchanged", "[msgpack_writer]") {
    const std::vector<std::uint64_t> uints = {0,
                                              1,
                                              127,
                                              128,
                                              255,
                                              256,
                                              65535,
                                              65536,
                                              4294967295u,
                                              4294967296u,
                                              1u << 31,
                                              0x7fffffffffffffffu,
                                              0xffffffffffffffffu};
    const std::vector<double> doubles = {0.0,
                                         -0.0,
                                         0.1,
                                         -1e300,
                                         std::numeric_limits<double>::denorm_min(),
                                         std::numeric_limits<double>::max(),
                                         std::numeric_limits<double>::infinity(),
                                         1700000000.001};
    const std::vector<std::size_t> lengths = {0, 31, 32, 255, 256, 65535, 65536};
    std::string out;
    MsgWriter w(out);
    w.array(static_cast<std::uint32_t>(uints.size() + doubles.size() + lengths.size() + 3));
    for (const auto u : uints) w.uint(u);
    for (const auto d : doubles) w.float64(d);
    for (const auto n : lengths) w.str(std::string(n, 'z'));
    w.boolean(true);
    w.float64(std::numeric_limits<double>::quiet_NaN());
    w.map(1);
    w.str("k");
    w.array(0);

    MsgReader r(out);
    std::uint32_t n = 0;
    REQUIRE(r.read_array(n));
    CHECK(n == uints.size() + doubles.size() + lengths.size() + 3);
    for (const auto u : uints) {
        std::uint64_t got = 0;
        REQUIRE(r.read_uint(got));
        CHECK(got == u);
    }
    for (const auto d : doubles) {
        double got = 1;
        REQUIRE(r.read_double(got));
        CHECK(got == d);
        CHECK(std::signbit(got) == std::signbit(d));
    }
    for (const auto len : lengths) {
        std::string_view got;
        REQUIRE(r.read_str(got));
        CHECK(got == std::string(len, 'z'));
    }
    bool b = false;
    REQUIRE(r.read_bool(b));
    CHECK(b);
    double nan = 0;
    REQUIRE(r.read_double(nan));
    CHECK(std::isnan(nan));
    REQUIRE(r.read_map(n));
    CHECK(n == 1);
    std::string_view key;
    REQUIRE(r.read_str(key));
    CHECK(key == "k");
    REQUIRE(r.read_array(n));
    CHECK(n == 0);
    CHECK(r.at_end());
}

TEST_CASE("msgpack-cxx decodes a written array to the same values", "[msgpack_writer]") {
    const std::string long_str(300, 'L');
    const std::string huge_str(70000, 'H');
    std::string out;
    MsgWriter w(out);
    w.array(13);
    w.uint(0);
    w.uint(127);
    w.uint(128);
    w.uint(65536);
    w.uint(0xffffffffffffffffu);
    w.str("hello");
    w.str(long_str);
    w.str(huge_str);
    w.float64(0.1);
    w.float64(-0.0);
    w.boolean(false);
    w.array(2);
    w.uint(7);
    w.str("");
    w.map(2);
    w.str("a");
    w.float64(1.0);
    w.str("b");
    w.boolean(true);

    const msgpack::object_handle handle = msgpack::unpack(out.data(), out.size());
    const msgpack::object& o = handle.get();
    REQUIRE(o.type == msgpack::type::ARRAY);
    REQUIRE(o.via.array.size == 13);
    const msgpack::object* e = o.via.array.ptr;
    CHECK(e[0].as<std::uint64_t>() == 0);
    CHECK(e[1].as<std::uint64_t>() == 127);
    CHECK(e[2].as<std::uint64_t>() == 128);
    CHECK(e[3].as<std::uint64_t>() == 65536);
    CHECK(e[4].as<std::uint64_t>() == 0xffffffffffffffffu);
    CHECK(e[5].as<std::string>() == "hello");
    CHECK(e[6].as<std::string>() == long_str);
    CHECK(e[7].as<std::string>() == huge_str);
    REQUIRE(e[8].type == msgpack::type::FLOAT64);
    CHECK(e[8].via.f64 == 0.1);
    REQUIRE(e[9].type == msgpack::type::FLOAT64);
    CHECK(e[9].via.f64 == 0.0);
    CHECK(std::signbit(e[9].via.f64));
    CHECK(e[10].as<bool>() == false);
    REQUIRE(e[11].type == msgpack::type::ARRAY);
    REQUIRE(e[11].via.array.size == 2);
    CHECK(e[11].via.array.ptr[0].as<std::uint64_t>() == 7);
    CHECK(e[11].via.array.ptr[1].as<std::string>().empty());
    REQUIRE(e[12].type == msgpack::type::MAP);
    REQUIRE(e[12].via.map.size == 2);
    CHECK(e[12].via.map.ptr[0].key.as<std::string>() == "a");
    CHECK(e[12].via.map.ptr[0].val.as<double>() == 1.0);
    CHECK(e[12].via.map.ptr[1].key.as<std::string>() == "b");
    CHECK(e[12].via.map.ptr[1].val.as<bool>() == true);
}

TEST_CASE("msgpack-cxx decodes array and map headers of every width", "[msgpack_writer]") {
    for (const std::uint32_t n : {15u, 16u, 65535u, 65536u}) {
        INFO("count " << n);
        std::string out;
        MsgWriter w(out);
        w.array(n);
        for (std::uint32_t i = 0; i < n; ++i) w.uint(i % 200);
        w.map(n);
        for (std::uint32_t i = 0; i < n; ++i) {
            w.uint(i);
            w.boolean(i % 2 == 0);
        }
        std::size_t offset = 0;
        const msgpack::object_handle a = msgpack::unpack(out.data(), out.size(), offset);
        REQUIRE(a.get().type == msgpack::type::ARRAY);
        REQUIRE(a.get().via.array.size == n);
        CHECK(a.get().via.array.ptr[n - 1].as<std::uint32_t>() == (n - 1) % 200);
        const msgpack::object_handle m = msgpack::unpack(out.data(), out.size(), offset);
        REQUIRE(m.get().type == msgpack::type::MAP);
        REQUIRE(m.get().via.map.size == n);
        CHECK(m.get().via.map.ptr[n - 1].key.as<std::uint32_t>() == n - 1);
        CHECK(m.get().via.map.ptr[n - 1].val.as<bool>() == ((n - 1) % 2 == 0));
        CHECK(offset == out.size());
    }
}
