#include "core/msgpack_reader.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

using sluice::core::MsgReader;

namespace {

// Bytes held in a heap block of exactly their size, so ASan reports any read past the end.
using Bytes = std::vector<unsigned char>;

Bytes bytes(std::initializer_list<int> list) {
    Bytes out;
    out.reserve(list.size());
    for (const int b : list) out.push_back(static_cast<unsigned char>(b));
    return out;
}

Bytes concat(Bytes a, const Bytes& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

Bytes filled(std::size_t n, unsigned char c) {
    return Bytes(n, c);
}

// A copy of the first `n` bytes in an allocation of exactly `n` bytes.
Bytes prefix(const Bytes& b, std::size_t n) {
    return Bytes(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(n));
}

MsgReader reader(const Bytes& b) {
    return MsgReader(b.data(), b.size());
}

std::string_view as_view(const Bytes& b, std::size_t offset, std::size_t n) {
    return {reinterpret_cast<const char*>(b.data()) + offset, n};
}

std::uint64_t read_uint_ok(const Bytes& b) {
    MsgReader r = reader(b);
    std::uint64_t v = 0;
    REQUIRE(r.read_uint(v));
    CHECK(r.at_end());
    return v;
}

double read_double_ok(const Bytes& b) {
    MsgReader r = reader(b);
    double v = 0;
    REQUIRE(r.read_double(v));
    CHECK(r.at_end());
    return v;
}

bool read_uint_fails(const Bytes& b) {
    MsgReader r = reader(b);
    std::uint64_t v = 0;
    return !r.read_uint(v);
}

bool skip_whole(const Bytes& b, int depth = 32) {
    MsgReader r = reader(b);
    return r.skip(depth) && r.at_end();
}

// One value of every family inside a fixarray, read field by field with the typed reads.
Bytes composite_message() {
    Bytes m = bytes({0x9f});                                                      // fixarray of 15
    m = concat(m, bytes({0x05}));                                                 // 1 fixint
    m = concat(m, bytes({0xcd, 0x12, 0x34}));                                     // 2 uint16
    m = concat(m, bytes({0xd2, 0xff, 0xff, 0xff, 0xfe}));                         // 3 int32 -2
    m = concat(m, bytes({0xca, 0x3f, 0xc0, 0x00, 0x00}));                         // 4 float32 1.5
    m = concat(m, bytes({0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18})); // 5 float64 pi
    m = concat(m, bytes({0xa3, 'a', 'b', 'c'}));                                  // 6 fixstr
    m = concat(m, concat(bytes({0xda, 0x01, 0x2c}), filled(300, 'x')));           // 7 str16 of 300
    m = concat(m, bytes({0xc4, 0x02, 0x00, 0xff}));                               // 8 bin8
    m = concat(m, bytes({0xdc, 0x00, 0x02, 0x01, 0x02}));       // 9 array16 [1, 2]
    m = concat(m, bytes({0x81, 0xa1, 'k', 0xc3}));              // 10 fixmap {"k": true}
    m = concat(m, bytes({0xc2}));                               // 11 false
    m = concat(m, bytes({0xc0}));                               // 12 nil
    m = concat(m, bytes({0xd6, 0x01, 0x01, 0x02, 0x03, 0x04})); // 13 fixext 4
    m = concat(m, bytes({0xcf, 0, 0, 0, 1, 0, 0, 0, 0}));       // 14 uint64 2^32
    m = concat(m, bytes({0xe0}));                               // 15 negative fixint -32
    return m;
}

bool read_composite(MsgReader& r) {
    std::uint32_t n = 0;
    std::uint64_t u = 0;
    double d = 0;
    std::string_view s;
    bool b = false;
    if (!r.read_array(n) || n != 15) return false;
    if (!r.read_uint(u) || u != 5) return false;
    if (!r.read_uint(u) || u != 0x1234) return false;
    if (!r.read_double(d) || d != -2.0) return false;
    if (!r.read_double(d) || d != 1.5) return false;
    if (!r.read_double(d) || d != 3.141592653589793) return false;
    if (!r.read_str(s) || s != "abc") return false;
    if (!r.read_str(s) || s != std::string(300, 'x')) return false;
    if (!r.read_bin(s) || s != std::string_view("\x00\xff", 2)) return false;
    if (!r.read_array(n) || n != 2) return false;
    if (!r.read_uint(u) || u != 1 || !r.read_uint(u) || u != 2) return false;
    if (!r.read_map(n) || n != 1) return false;
    if (!r.read_str(s) || s != "k" || !r.read_bool(b) || !b) return false;
    if (!r.read_bool(b) || b) return false;
    if (!r.skip()) return false; // nil
    if (!r.skip()) return false; // ext
    if (!r.read_uint(u) || u != (std::uint64_t{1} << 32)) return false;
    if (!r.read_double(d) || d != -32.0) return false;
    return r.at_end();
}

} // namespace

TEST_CASE("read_uint decodes positive fixints and uint8 to uint64 at their boundaries",
          "[msgpack_reader]") {
    CHECK(read_uint_ok(bytes({0x00})) == 0);
    CHECK(read_uint_ok(bytes({0x7f})) == 127);
    CHECK(read_uint_ok(bytes({0xcc, 0x00})) == 0);
    CHECK(read_uint_ok(bytes({0xcc, 0x80})) == 128);
    CHECK(read_uint_ok(bytes({0xcc, 0xff})) == 255);
    CHECK(read_uint_ok(bytes({0xcd, 0x01, 0x00})) == 256);
    CHECK(read_uint_ok(bytes({0xcd, 0xff, 0xff})) == 65535);
    CHECK(read_uint_ok(bytes({0xce, 0x00, 0x01, 0x00, 0x00})) == 65536);
    CHECK(read_uint_ok(bytes({0xce, 0xff, 0xff, 0xff, 0xff})) == 4294967295u);
    CHECK(read_uint_ok(bytes({0xcf, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00})) ==
          4294967296u);
    CHECK(read_uint_ok(bytes({0xcf, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08})) ==
          0x0102030405060708u);
    CHECK(read_uint_ok(bytes({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) ==
          std::numeric_limits<std::uint64_t>::max());
}

TEST_CASE("read_uint accepts signed encodings of non-negative values", "[msgpack_reader]") {
    CHECK(read_uint_ok(bytes({0xd0, 0x00})) == 0);
    CHECK(read_uint_ok(bytes({0xd0, 0x7f})) == 127);
    CHECK(read_uint_ok(bytes({0xd1, 0x7f, 0xff})) == 32767);
    CHECK(read_uint_ok(bytes({0xd2, 0x7f, 0xff, 0xff, 0xff})) == 2147483647u);
    CHECK(read_uint_ok(bytes({0xd3, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) ==
          9223372036854775807u);
}

TEST_CASE("read_uint refuses every negative signed encoding", "[msgpack_reader]") {
    CHECK(read_uint_fails(bytes({0xff})));       // -1 negative fixint
    CHECK(read_uint_fails(bytes({0xe0})));       // -32
    CHECK(read_uint_fails(bytes({0xd0, 0xff}))); // int8 -1
    CHECK(read_uint_fails(bytes({0xd0, 0x80}))); // int8 -128
    CHECK(read_uint_fails(bytes({0xd1, 0x80, 0x00})));
    CHECK(read_uint_fails(bytes({0xd1, 0xff, 0xff})));
    CHECK(read_uint_fails(bytes({0xd2, 0x80, 0x00, 0x00, 0x00})));
    CHECK(read_uint_fails(bytes({0xd2, 0xff, 0xff, 0xff, 0xff})));
    CHECK(read_uint_fails(bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0})));
    CHECK(read_uint_fails(bytes({0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})));
}

TEST_CASE("read_uint refuses floats, strings, nil, bools and containers", "[msgpack_reader]") {
    CHECK(read_uint_fails(bytes({0xca, 0x3f, 0x80, 0x00, 0x00})));
    CHECK(read_uint_fails(bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0})));
    CHECK(read_uint_fails(bytes({0xa1, '1'})));
    CHECK(read_uint_fails(bytes({0xc0})));
    CHECK(read_uint_fails(bytes({0xc3})));
    CHECK(read_uint_fails(bytes({0x90})));
    CHECK(read_uint_fails(bytes({0x80})));
    CHECK(read_uint_fails(bytes({})));
}

TEST_CASE("read_double converts every integer family including negatives", "[msgpack_reader]") {
    CHECK(read_double_ok(bytes({0x00})) == 0.0);
    CHECK(read_double_ok(bytes({0x7f})) == 127.0);
    CHECK(read_double_ok(bytes({0xff})) == -1.0);
    CHECK(read_double_ok(bytes({0xe0})) == -32.0);
    CHECK(read_double_ok(bytes({0xcc, 0xff})) == 255.0);
    CHECK(read_double_ok(bytes({0xcd, 0xff, 0xff})) == 65535.0);
    CHECK(read_double_ok(bytes({0xce, 0xff, 0xff, 0xff, 0xff})) == 4294967295.0);
    CHECK(read_double_ok(bytes({0xcf, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00})) ==
          9007199254740992.0); // 2^53
    CHECK(read_double_ok(bytes({0xd0, 0x80})) == -128.0);
    CHECK(read_double_ok(bytes({0xd0, 0x7f})) == 127.0);
    CHECK(read_double_ok(bytes({0xd1, 0xff, 0x00})) == -256.0);
    CHECK(read_double_ok(bytes({0xd1, 0x80, 0x00})) == -32768.0);
    CHECK(read_double_ok(bytes({0xd2, 0x80, 0x00, 0x00, 0x00})) == -2147483648.0);
    CHECK(read_double_ok(bytes({0xd2, 0xff, 0xff, 0xff, 0xfe})) == -2.0);
    CHECK(read_double_ok(bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0})) == -9223372036854775808.0);
    CHECK(read_double_ok(bytes({0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfd})) == -3.0);
    CHECK(read_double_ok(bytes({0xd3, 0x00, 0, 0, 0, 0, 0, 0x01, 0x00})) == 256.0);
}

TEST_CASE("read_double decodes float32 and float64 bit patterns exactly", "[msgpack_reader]") {
    CHECK(read_double_ok(bytes({0xca, 0x3f, 0xc0, 0x00, 0x00})) == 1.5);
    CHECK(read_double_ok(bytes({0xca, 0xc1, 0x20, 0x00, 0x00})) == -10.0);
    // 0.1f is 0x3dcccccd = 13421773 * 2^-27.
    CHECK(read_double_ok(bytes({0xca, 0x3d, 0xcc, 0xcc, 0xcd})) == 13421773.0 / 134217728.0);
    CHECK(std::isinf(read_double_ok(bytes({0xca, 0x7f, 0x80, 0x00, 0x00}))));
    CHECK(std::isnan(read_double_ok(bytes({0xca, 0x7f, 0xc0, 0x00, 0x00}))));
    CHECK(read_double_ok(bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0})) == 1.0);
    CHECK(read_double_ok(bytes({0xcb, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18})) ==
          3.141592653589793);
    CHECK(read_double_ok(bytes({0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a})) == 0.1);
    const double negative_zero = read_double_ok(bytes({0xcb, 0x80, 0, 0, 0, 0, 0, 0, 0}));
    CHECK(negative_zero == 0.0);
    CHECK(std::signbit(negative_zero));
    CHECK(read_double_ok(bytes({0xcb, 0x7f, 0xef, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) ==
          std::numeric_limits<double>::max());
    CHECK(read_double_ok(bytes({0xcb, 0x00, 0, 0, 0, 0, 0, 0, 0x01})) ==
          std::numeric_limits<double>::denorm_min());
    CHECK(std::isinf(read_double_ok(bytes({0xcb, 0xff, 0xf0, 0, 0, 0, 0, 0, 0}))));
    CHECK(std::isnan(read_double_ok(bytes({0xcb, 0x7f, 0xf8, 0, 0, 0, 0, 0, 0}))));
}

TEST_CASE("read_double refuses strings, bools, nil and containers", "[msgpack_reader]") {
    for (const Bytes& b :
         {bytes({0xa1, '1'}), bytes({0xc3}), bytes({0xc0}), bytes({0x91, 0x01}), bytes({0x80}),
          bytes({0xc4, 0x00}), bytes({0xd4, 0x01, 0x01}), bytes({0xc1}), bytes({})}) {
        MsgReader r = reader(b);
        double d = 0;
        CHECK_FALSE(r.read_double(d));
    }
}

TEST_CASE("read_str decodes fixstr, str8, str16 and str32 as views into the input",
          "[msgpack_reader]") {
    SECTION("fixstr, empty and of 31 bytes") {
        const Bytes empty = bytes({0xa0});
        MsgReader r0 = reader(empty);
        std::string_view s = "not empty";
        REQUIRE(r0.read_str(s));
        CHECK(s.empty());
        CHECK(r0.at_end());

        const Bytes b = concat(bytes({0xbf}), filled(31, 'q'));
        MsgReader r = reader(b);
        REQUIRE(r.read_str(s));
        CHECK(s == std::string(31, 'q'));
        CHECK(s.data() == as_view(b, 1, 31).data());
        CHECK(r.at_end());
    }
    SECTION("str8") {
        const Bytes b = concat(bytes({0xd9, 0xff}), filled(255, 's'));
        MsgReader r = reader(b);
        std::string_view s;
        REQUIRE(r.read_str(s));
        CHECK(s.size() == 255);
        CHECK(s.data() == as_view(b, 2, 255).data());
        CHECK(r.at_end());
    }
    SECTION("str16") {
        const Bytes b = concat(bytes({0xda, 0x01, 0x00}), filled(256, 't'));
        MsgReader r = reader(b);
        std::string_view s;
        REQUIRE(r.read_str(s));
        CHECK(s == std::string(256, 't'));
        CHECK(s.data() == as_view(b, 3, 256).data());
        CHECK(r.at_end());
    }
    SECTION("str32") {
        const Bytes b = concat(bytes({0xdb, 0x00, 0x01, 0x00, 0x00}), filled(65536, 'u'));
        MsgReader r = reader(b);
        std::string_view s;
        REQUIRE(r.read_str(s));
        CHECK(s.size() == 65536);
        CHECK(s.data() == as_view(b, 5, 65536).data());
        CHECK(r.at_end());
    }
    SECTION("a string followed by more values leaves the cursor on the next value") {
        const Bytes b = bytes({0xa2, 'h', 'i', 0x2a});
        MsgReader r = reader(b);
        std::string_view s;
        std::uint64_t u = 0;
        REQUIRE(r.read_str(s));
        CHECK(s == "hi");
        CHECK(r.remaining() == 1);
        REQUIRE(r.read_uint(u));
        CHECK(u == 42);
    }
}

TEST_CASE("read_str refuses bin and non-string types; read_bin refuses str", "[msgpack_reader]") {
    std::string_view s;
    for (const Bytes& b :
         {bytes({0xc4, 0x01, 'a'}), bytes({0x01}), bytes({0xc0}), bytes({0x91, 0xa0}), bytes({})}) {
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_str(s));
    }
    for (const Bytes& b :
         {bytes({0xa1, 'a'}), bytes({0xd9, 0x01, 'a'}), bytes({0x01}), bytes({0xc0}), bytes({})}) {
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_bin(s));
    }
}

TEST_CASE("read_bin decodes bin8, bin16 and bin32", "[msgpack_reader]") {
    std::string_view s;
    {
        const Bytes b = bytes({0xc4, 0x03, 0x00, 0x80, 0xff});
        MsgReader r = reader(b);
        REQUIRE(r.read_bin(s));
        CHECK(s == std::string_view("\x00\x80\xff", 3));
        CHECK(r.at_end());
    }
    {
        const Bytes b = bytes({0xc4, 0x00});
        MsgReader r = reader(b);
        REQUIRE(r.read_bin(s));
        CHECK(s.empty());
        CHECK(r.at_end());
    }
    {
        const Bytes b = concat(bytes({0xc5, 0x01, 0x00}), filled(256, 0xab));
        MsgReader r = reader(b);
        REQUIRE(r.read_bin(s));
        CHECK(s.size() == 256);
        CHECK(s.data() == as_view(b, 3, 256).data());
        CHECK(r.at_end());
    }
    {
        const Bytes b = concat(bytes({0xc6, 0x00, 0x01, 0x00, 0x01}), filled(65537, 0x00));
        MsgReader r = reader(b);
        REQUIRE(r.read_bin(s));
        CHECK(s.size() == 65537);
        CHECK(r.at_end());
    }
}

TEST_CASE("read_array decodes fixarray, array16 and array32 headers", "[msgpack_reader]") {
    std::uint32_t n = 99;
    {
        const Bytes b = bytes({0x90});
        MsgReader r = reader(b);
        REQUIRE(r.read_array(n));
        CHECK(n == 0);
        CHECK(r.at_end());
    }
    {
        const Bytes b = concat(bytes({0x9f}), filled(15, 0x01));
        MsgReader r = reader(b);
        REQUIRE(r.read_array(n));
        CHECK(n == 15);
        CHECK(r.remaining() == 15);
    }
    {
        const Bytes b = concat(bytes({0xdc, 0x00, 0x10}), filled(16, 0x01));
        MsgReader r = reader(b);
        REQUIRE(r.read_array(n));
        CHECK(n == 16);
        CHECK(r.remaining() == 16);
    }
    {
        const Bytes b = concat(bytes({0xdd, 0x00, 0x01, 0x00, 0x00}), filled(65536, 0xc0));
        MsgReader r = reader(b);
        REQUIRE(r.read_array(n));
        CHECK(n == 65536);
        CHECK(r.remaining() == 65536);
    }
    {
        const Bytes b = bytes({0x80});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_array(n)); // a map is not an array
    }
}

TEST_CASE("read_map decodes fixmap, map16 and map32 headers", "[msgpack_reader]") {
    std::uint32_t n = 99;
    {
        const Bytes b = bytes({0x80});
        MsgReader r = reader(b);
        REQUIRE(r.read_map(n));
        CHECK(n == 0);
    }
    {
        const Bytes b = concat(bytes({0x8f}), filled(30, 0x01));
        MsgReader r = reader(b);
        REQUIRE(r.read_map(n));
        CHECK(n == 15);
    }
    {
        const Bytes b = concat(bytes({0xde, 0x00, 0x10}), filled(32, 0x01));
        MsgReader r = reader(b);
        REQUIRE(r.read_map(n));
        CHECK(n == 16);
        CHECK(r.remaining() == 32);
    }
    {
        const Bytes b = concat(bytes({0xdf, 0x00, 0x01, 0x00, 0x00}), filled(131072, 0xc0));
        MsgReader r = reader(b);
        REQUIRE(r.read_map(n));
        CHECK(n == 65536);
    }
    {
        const Bytes b = bytes({0x90});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_map(n)); // an array is not a map
    }
}

TEST_CASE("array and map counts larger than the bytes left are refused", "[msgpack_reader]") {
    std::uint32_t n = 0;
    // array16 of 5 needs at least 5 more bytes.
    {
        const Bytes b = concat(bytes({0xdc, 0x00, 0x05}), filled(4, 0x01));
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_array(n));
    }
    {
        const Bytes b = concat(bytes({0xdc, 0x00, 0x05}), filled(5, 0x01));
        MsgReader r = reader(b);
        CHECK(r.read_array(n));
        CHECK(n == 5);
    }
    {
        const Bytes b = bytes({0xdd, 0xff, 0xff, 0xff, 0xff, 0x01, 0x02});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_array(n));
    }
    {
        const Bytes b = bytes({0xdd, 0x00, 0x00, 0x00, 0x02, 0x01});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_array(n));
    }
    // map16 of 3 needs at least 6 more bytes.
    {
        const Bytes b = concat(bytes({0xde, 0x00, 0x03}), filled(5, 0x01));
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_map(n));
    }
    {
        const Bytes b = concat(bytes({0xde, 0x00, 0x03}), filled(6, 0x01));
        MsgReader r = reader(b);
        CHECK(r.read_map(n));
        CHECK(n == 3);
    }
    {
        const Bytes b = bytes({0xdf, 0x80, 0x00, 0x00, 0x00, 0x01, 0x01});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_map(n));
    }
    // String and binary lengths beyond the input.
    std::string_view s;
    {
        const Bytes b = bytes({0xa5, 'a', 'b', 'c', 'd'});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_str(s));
    }
    {
        const Bytes b = bytes({0xd9, 0x03, 'a', 'b'});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_str(s));
    }
    {
        const Bytes b = bytes({0xdb, 0xff, 0xff, 0xff, 0xff, 'a'});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_str(s));
    }
    {
        const Bytes b = bytes({0xc6, 0xff, 0xff, 0xff, 0xff, 'a'});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_bin(s));
    }
    {
        const Bytes b = bytes({0xc5, 0x00, 0x02, 'a'});
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_bin(s));
    }
}

TEST_CASE("read_bool reads true and false and refuses anything else", "[msgpack_reader]") {
    bool v = false;
    {
        const Bytes b = bytes({0xc3});
        MsgReader r = reader(b);
        REQUIRE(r.read_bool(v));
        CHECK(v);
        CHECK(r.at_end());
    }
    {
        const Bytes b = bytes({0xc2});
        MsgReader r = reader(b);
        REQUIRE(r.read_bool(v));
        CHECK_FALSE(v);
        CHECK(r.at_end());
    }
    for (const Bytes& b : {bytes({0xc0}), bytes({0x01}), bytes({0x00}), bytes({})}) {
        MsgReader r = reader(b);
        CHECK_FALSE(r.read_bool(v));
    }
}

TEST_CASE("skip consumes exactly one value of every type", "[msgpack_reader]") {
    // Each value is followed by the sentinel 42, which must be the next thing read.
    const std::vector<Bytes> values = {
        bytes({0xc0}),                                                 // nil
        bytes({0xc2}),                                                 // false
        bytes({0xc3}),                                                 // true
        bytes({0x00}),                                                 // fixint
        bytes({0x7f}),                                                 // fixint
        bytes({0xe0}),                                                 // negative fixint
        bytes({0xff}),                                                 // negative fixint
        bytes({0xcc, 0x01}),                                           // uint8
        bytes({0xcd, 0x01, 0x02}),                                     // uint16
        bytes({0xce, 0x01, 0x02, 0x03, 0x04}),                         // uint32
        bytes({0xcf, 1, 2, 3, 4, 5, 6, 7, 8}),                         // uint64
        bytes({0xd0, 0x80}),                                           // int8
        bytes({0xd1, 0x80, 0x00}),                                     // int16
        bytes({0xd2, 0x80, 0, 0, 0}),                                  // int32
        bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0}),                      // int64
        bytes({0xca, 0x3f, 0x80, 0, 0}),                               // float32
        bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}),                   // float64
        bytes({0xa0}),                                                 // empty fixstr
        bytes({0xa3, 'a', 'b', 'c'}),                                  // fixstr
        concat(bytes({0xd9, 0x20}), filled(32, 'x')),                  // str8
        concat(bytes({0xda, 0x01, 0x00}), filled(256, 'x')),           // str16
        concat(bytes({0xdb, 0x00, 0x00, 0x00, 0x02}), filled(2, 'x')), // str32
        bytes({0xc4, 0x01, 0xff}),                                     // bin8
        concat(bytes({0xc5, 0x01, 0x00}), filled(256, 0)),             // bin16
        bytes({0xc6, 0x00, 0x00, 0x00, 0x01, 0x2a}),                   // bin32
        bytes({0x90}),                                                 // empty fixarray
        bytes({0x93, 0x01, 0xa1, 'x', 0x92, 0xc0, 0xc3}),              // nested fixarray
        bytes({0xdc, 0x00, 0x02, 0x01, 0x02}),                         // array16
        bytes({0xdd, 0x00, 0x00, 0x00, 0x01, 0xc0}),                   // array32
        bytes({0x80}),                                                 // empty fixmap
        bytes({0x82, 0xa1, 'a', 0x01, 0xa1, 'b', 0x91, 0x02}),         // fixmap
        bytes({0xde, 0x00, 0x01, 0xc0, 0xc0}),                         // map16
        bytes({0xdf, 0x00, 0x00, 0x00, 0x01, 0x01, 0x81, 0x01, 0x02}), // map32, nested map
        bytes({0xd4, 0x05, 0xaa}),                                     // fixext 1
        bytes({0xd5, 0x05, 0xaa, 0xbb}),                               // fixext 2
        bytes({0xd6, 0xff, 0, 0, 0, 0}),                               // fixext 4 (timestamp 32)
        bytes({0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 0}),                   // fixext 8
        concat(bytes({0xd8, 0x01}), filled(16, 0x2a)),                 // fixext 16
        bytes({0xc7, 0x00, 0x01}),                                     // ext8 of 0 bytes
        bytes({0xc7, 0x03, 0x01, 0xaa, 0xbb, 0xcc}),                   // ext8
        concat(bytes({0xc8, 0x01, 0x00, 0x07}), filled(256, 0x2a)),    // ext16
        bytes({0xc9, 0x00, 0x00, 0x00, 0x02, 0x07, 0x01, 0x02}),       // ext32
    };
    for (std::size_t i = 0; i < values.size(); ++i) {
        INFO("value " << i);
        const Bytes b = concat(values[i], bytes({0x2a}));
        MsgReader r = reader(b);
        REQUIRE(r.skip());
        CHECK(r.remaining() == 1);
        std::uint64_t sentinel = 0;
        REQUIRE(r.read_uint(sentinel));
        CHECK(sentinel == 42);
        CHECK(r.at_end());
        // Every strict prefix of the value is refused.
        for (std::size_t n = 0; n < values[i].size(); ++n) {
            INFO("prefix of " << n << " bytes");
            const Bytes p = prefix(values[i], n);
            MsgReader rp = reader(p);
            CHECK_FALSE(rp.skip());
        }
    }
}

TEST_CASE("skip refuses the never-used type byte 0xc1", "[msgpack_reader]") {
    CHECK_FALSE(skip_whole(bytes({0xc1})));
    CHECK_FALSE(skip_whole(bytes({0x92, 0x01, 0xc1})));
}

TEST_CASE("skip refuses ext lengths beyond the input", "[msgpack_reader]") {
    CHECK_FALSE(skip_whole(bytes({0xc7, 0x02, 0x01, 0xaa})));
    CHECK_FALSE(skip_whole(bytes({0xc7, 0x01, 0x01})));
    CHECK_FALSE(skip_whole(bytes({0xc9, 0xff, 0xff, 0xff, 0xff, 0x01})));
    CHECK_FALSE(skip_whole(bytes({0xc8, 0xff, 0xff, 0x01, 0x00})));
}

TEST_CASE("a message with every type family reads back field by field", "[msgpack_reader]") {
    const Bytes m = composite_message();
    MsgReader r = reader(m);
    CHECK(read_composite(r));
    CHECK(skip_whole(m));
}

TEST_CASE("a truncated message is refused at every byte position without reading past the end",
          "[msgpack_reader]") {
    const Bytes m = composite_message();
    for (std::size_t n = 0; n < m.size(); ++n) {
        INFO("prefix of " << n << " of " << m.size() << " bytes");
        const Bytes p = prefix(m, n);
        MsgReader r = reader(p);
        CHECK_FALSE(read_composite(r));
        MsgReader rs = reader(p);
        CHECK_FALSE(rs.skip());
    }
}

TEST_CASE("every typed read on an empty input returns false", "[msgpack_reader]") {
    MsgReader r(nullptr, 0);
    std::uint32_t n = 0;
    std::uint64_t u = 0;
    double d = 0;
    bool b = false;
    std::string_view s;
    CHECK(r.at_end());
    CHECK(r.remaining() == 0);
    CHECK_FALSE(r.read_array(n));
    CHECK_FALSE(r.read_map(n));
    CHECK_FALSE(r.read_str(s));
    CHECK_FALSE(r.read_bin(s));
    CHECK_FALSE(r.read_double(d));
    CHECK_FALSE(r.read_uint(u));
    CHECK_FALSE(r.read_bool(b));
    CHECK_FALSE(r.skip());
}

TEST_CASE("skip accepts 32 levels of nesting and refuses 33", "[msgpack_reader]") {
    const Bytes ok = concat(filled(32, 0x91), bytes({0xc0}));
    CHECK(skip_whole(ok));
    const Bytes deep = concat(filled(33, 0x91), bytes({0xc0}));
    CHECK_FALSE(skip_whole(deep));
    // The same through maps: {nil: {nil: ... nil}}.
    Bytes maps;
    for (int i = 0; i < 33; ++i) maps = concat(maps, bytes({0x81, 0xc0}));
    maps = concat(maps, bytes({0xc0}));
    CHECK_FALSE(skip_whole(maps));
    // A custom limit.
    CHECK(skip_whole(bytes({0x91, 0x91, 0xc0}), 2));
    CHECK_FALSE(skip_whole(bytes({0x91, 0x91, 0x91, 0xc0}), 2));
    CHECK_FALSE(skip_whole(bytes({0xc0}), -1));
}

TEST_CASE("skip of very deeply nested arrays returns false without overflowing the stack",
          "[msgpack_reader]") {
    const Bytes fix = concat(filled(1000000, 0x91), bytes({0xc0}));
    CHECK_FALSE(skip_whole(fix));
    Bytes array16;
    array16.reserve(3 * 200000 + 1);
    for (int i = 0; i < 200000; ++i) {
        array16.push_back(0xdc);
        array16.push_back(0x00);
        array16.push_back(0x01);
    }
    array16.push_back(0xc0);
    CHECK_FALSE(skip_whole(array16));
    const Bytes maps = concat(filled(1000000, 0x81), bytes({0xc0}));
    CHECK_FALSE(skip_whole(maps));
}

TEST_CASE("skip of a wide flat array visits every element", "[msgpack_reader]") {
    const Bytes b = concat(bytes({0xdd, 0x00, 0x01, 0x86, 0xa0}), filled(100000, 0xc0));
    CHECK(skip_whole(b));
    // One element short.
    const Bytes shorter = concat(bytes({0xdd, 0x00, 0x01, 0x86, 0xa0}), filled(99999, 0xc0));
    CHECK_FALSE(skip_whole(shorter));
}
