// Compares core::write_shortest with std::to_chars, the oracle, on many more doubles than the unit
// tests do (which run on every build): N random bit patterns, N/4 each of record-like values,
// timestamps and d·10^k with few digits, every power of ten ± 3 ulps in several multiples, the
// integers to 2,000,000 in several scales, integers around 2^50..2^80, and the extremes.
//
//   build-bench/bench/sluice_shortest_check [N]     (default 20,000,000: ~60 M values, ~10 s)
//
// Prints the count of values and of differences (the first 20 shown); exits 1 on any difference.
#include "core/shortest.hpp"

#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>

namespace {

long g_checked = 0;
long g_different = 0;

void check(double v) {
    char a[64];
    char b[64];
    const char* const ea = std::to_chars(a, a + sizeof a, v).ptr;
    const char* const eb = sluice::core::write_shortest(b, v);
    ++g_checked;
    if (ea - a != eb - b || std::memcmp(a, b, static_cast<std::size_t>(ea - a)) != 0) {
        if (g_different++ < 20) {
            std::printf("different: %.17g std::to_chars '%.*s' write_shortest '%.*s'\n", v,
                        static_cast<int>(ea - a), a, static_cast<int>(eb - b), b);
        }
    }
}

} // namespace

int main(int argc, char** argv) {
    const long n = argc > 1 ? std::atol(argv[1]) : 20000000;
    std::mt19937_64 rng(42);
    for (long i = 0; i < n; ++i) check(std::bit_cast<double>(rng()));
    std::normal_distribution<double> reading(50, 15);
    for (long i = 0; i < n / 4; ++i) {
        const double v = reading(rng);
        check(v);
        check(v / 60);
        check((v - 20) / 60);
        check(std::sqrt(std::fabs(v)));
    }
    for (long i = 0; i < n / 4; ++i) check(1700000000.0 + static_cast<double>(i) * 0.001);
    std::uniform_int_distribution<int> exponent(-20, 25);
    std::uniform_int_distribution<long> digits(1, 99999);
    for (long i = 0; i < n / 4; ++i) {
        check(static_cast<double>(digits(rng)) * std::pow(10.0, exponent(rng)));
    }
    constexpr double inf = std::numeric_limits<double>::infinity();
    for (int k = -325; k <= 309; ++k) {
        for (const double m : {1.0, 1.5, 7.25, 123.0}) {
            double up = std::pow(10.0, k) * m;
            double down = up;
            for (int step = 0; step < 4; ++step) {
                check(up);
                check(-down);
                up = std::nextafter(up, inf);
                down = std::nextafter(down, 0.0);
            }
        }
    }
    for (long i = 0; i <= 2000000; ++i) {
        const auto d = static_cast<double>(i);
        check(d);
        check(d * 1000);
        check(d * 1e15);
        check(d * 1e-5);
        check(d / 7);
    }
    for (int b = 50; b < 80; ++b) {
        for (long j = -2000; j <= 2000; ++j) {
            check(std::ldexp(1.0, b) + std::ldexp(static_cast<double>(j), b - 52));
        }
    }
    for (const double v :
         {0.0, -0.0, 5e-324, -5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, inf, -inf}) {
        check(v);
    }
    std::printf("checked %ld doubles: %ld different\n", g_checked, g_different);
    return g_different == 0 ? 0 : 1;
}
