#include "core/shortest.hpp"

#include <bit>
#include <catch2/catch.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

using sluice::core::k_shortest_max;
using sluice::core::write_shortest;

// The oracle is libstdc++'s std::to_chars (Ryu), an implementation independent of ours (Dragonbox
// digits, our own layout): write_shortest must write the same bytes for every double.

namespace {

std::string ours(double v) {
    char buf[k_shortest_max + 8];
    const char* const end = write_shortest(buf, v);
    REQUIRE(end > buf);
    REQUIRE(static_cast<std::size_t>(end - buf) <= k_shortest_max);
    return {static_cast<const char*>(buf), end};
}

std::string oracle(double v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return {buf, r.ptr};
}

// Counts the values whose text differs, and reports the first few (a failure names the value).
struct Comparison {
    std::size_t checked = 0;
    std::size_t different = 0;
    void operator()(double v) {
        ++checked;
        const std::string a = ours(v);
        const std::string b = oracle(v);
        if (a != b && ++different <= 5) {
            UNSCOPED_INFO("bits 0x" << std::hex << std::bit_cast<std::uint64_t>(v) << std::dec
                                    << ": ours '" << a << "', std::to_chars '" << b << "'");
        }
    }
};

} // namespace

TEST_CASE("Shortest text: the forms std::to_chars chooses, written by hand") {
    // Expected texts by hand from the rule: the fewest digits that read back, plain notation
    // unless scientific is strictly shorter, at least two exponent digits.
    CHECK(ours(0.0) == "0");
    CHECK(ours(-0.0) == "-0");
    CHECK(ours(1.0) == "1");
    CHECK(ours(-2.5) == "-2.5");
    CHECK(ours(0.1) == "0.1");
    CHECK(ours(0.001) == "0.001");     // plain 5 characters, scientific "1e-03" 5: a tie goes plain
    CHECK(ours(0.0001) == "1e-04");    // plain 6, scientific 5
    CHECK(ours(0.00012) == "0.00012"); // 7 against "1.2e-04" 7
    CHECK(ours(0.000123) == "0.000123");
    CHECK(ours(123000.0) == "123000");
    CHECK(ours(100000.0) == "1e+05");       // plain 6, scientific 5
    CHECK(ours(10000.0) == "10000");        // plain 5, scientific 5
    CHECK(ours(1700000000.0) == "1.7e+09"); // SPEC §5's example
    CHECK(ours(1700000000.001) == "1700000000.001");
    CHECK(ours(48.14298806616719) == "48.14298806616719");
    CHECK(ours(1e100) == "1e+100");
    CHECK(ours(1.5e-300) == "1.5e-300");
    CHECK(ours(5e-324) == "5e-324");
    CHECK(ours(-1.7976931348623157e308) == "-1.7976931348623157e+308");
    CHECK(ours(2.2250738585072014e-308) == "2.2250738585072014e-308");
    CHECK(ours(9007199254740993.0) == "9007199254740992"); // 2^53 + 1 rounds to 2^53
    // Plain notation above 2^53 is the double's exact integer value (the double nearest
    // 123456789012345678901 is 123456789012345683968), not its 17 shortest digits padded with
    // zeros (123456789012345680000).
    CHECK(ours(123456789012345678901.0) == "123456789012345683968");
    CHECK(ours(std::numeric_limits<double>::infinity()) == "inf");
    CHECK(ours(-std::numeric_limits<double>::infinity()) == "-inf");
}

TEST_CASE("Shortest text: the same bytes as std::to_chars on random doubles of every exponent") {
    std::mt19937_64 rng(20261202);
    Comparison compare;
    for (int i = 0; i < 300000; ++i) {
        const double v = std::bit_cast<double>(rng());
        if (std::isfinite(v)) compare(v);
    }
    CHECK(compare.different == 0);
    CHECK(compare.checked > 290000);
}

TEST_CASE("Shortest text: the same bytes as std::to_chars on sensor-like values and timestamps") {
    std::mt19937_64 rng(7);
    std::normal_distribution<double> reading(50, 15);
    Comparison compare;
    for (int i = 0; i < 50000; ++i) {
        const double v = reading(rng);
        compare(v);
        compare((v - 20) / 60);
        compare(std::sqrt(std::fabs((v - 20) / 60)) * std::log(std::fabs(v) + 1));
        compare(1700000000.0 + i * 0.001);
        compare(std::round(v * 1000) / 1000); // three decimals, as sensors often report
    }
    CHECK(compare.different == 0);
}

TEST_CASE("Shortest text: the same bytes as std::to_chars at the edges of every form") {
    Comparison compare;
    // Around every power of ten (where the digit count, the exponent's width and the choice
    // between plain and scientific change), a few ulps either way, and both signs.
    for (int k = -324; k <= 308; ++k) {
        const double p = std::pow(10.0, k);
        for (const double m : {1.0, 1.5, 2.0, 9.5, 123.0, 99999.0}) {
            double up = p * m;
            double down = up;
            for (int step = 0; step < 4; ++step) {
                compare(up);
                compare(-down);
                up = std::nextafter(up, std::numeric_limits<double>::infinity());
                down = std::nextafter(down, 0.0);
            }
        }
    }
    // Integers with trailing zeros on both sides of 2^53, where plain text stops being the
    // shortest digits padded and becomes the exact integer.
    for (int b = 50; b <= 75; ++b) {
        for (int j = -300; j <= 300; ++j) compare(std::ldexp(1.0, b) + std::ldexp(j, b - 52));
    }
    for (std::int64_t i = 1; i <= 20000; ++i) {
        compare(static_cast<double>(i));
        compare(static_cast<double>(i) * 1000);
        compare(static_cast<double>(i) * 1e15);
        compare(static_cast<double>(i) * 1e-5);
    }
    // Subnormals and the extremes.
    for (std::uint64_t bits = 1; bits < 2000; ++bits) compare(std::bit_cast<double>(bits));
    compare(std::numeric_limits<double>::min());
    compare(std::numeric_limits<double>::max());
    compare(std::numeric_limits<double>::lowest());
    CHECK(compare.different == 0);
}
