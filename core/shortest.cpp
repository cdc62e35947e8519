#include "core/shortest.hpp"

#include <array>
#include <bit>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <dragonbox/dragonbox.h>

namespace sluice::core {

namespace {

constexpr char k_digit_pairs[] = "00010203040506070809"
                                 "10111213141516171819"
                                 "20212223242526272829"
                                 "30313233343536373839"
                                 "40414243444546474849"
                                 "50515253545556575859"
                                 "60616263646566676869"
                                 "70717273747576777879"
                                 "80818283848586878889"
                                 "90919293949596979899";

constexpr std::array<std::uint64_t, 20> k_powers_of_ten = [] {
    std::array<std::uint64_t, 20> p{};
    std::uint64_t x = 1;
    for (auto& v : p) {
        v = x;
        x *= 10;
    }
    return p;
}();

// Decimal digits of x > 0: log10 from the bit width (1233/4096 ~ log10(2)), then one compare.
int digit_count(std::uint64_t x) noexcept {
    const int t = (std::bit_width(x) * 1233) >> 12;
    return t + 1 - (x < k_powers_of_ten[static_cast<std::size_t>(t)] ? 1 : 0);
}

// Writes v < 10^8 as exactly eight digits (leading zeros included): no loop, no branch.
void write_8_digits(char* p, std::uint32_t v) noexcept {
    const std::uint32_t high = v / 10000;
    const std::uint32_t low = v % 10000;
    std::memcpy(p, k_digit_pairs + (high / 100) * 2, 2);
    std::memcpy(p + 2, k_digit_pairs + (high % 100) * 2, 2);
    std::memcpy(p + 4, k_digit_pairs + (low / 100) * 2, 2);
    std::memcpy(p + 6, k_digit_pairs + (low % 100) * 2, 2);
}

// Writes x < 10^17 as exactly seventeen digits, in three independent parts (the CPU overlaps
// them, where one loop of divisions by 100 would be a chain of dependent multiplications).
void write_17_digits(char* p, std::uint64_t x) noexcept {
    const std::uint64_t top = x / 100000000;
    const auto low = static_cast<std::uint32_t>(x % 100000000);
    p[0] = static_cast<char>('0' + top / 100000000);
    write_8_digits(p + 1, static_cast<std::uint32_t>(top % 100000000));
    write_8_digits(p + 9, low);
}

char* fallback(char* p, double v) noexcept {
    return std::to_chars(p, p + k_shortest_max, v).ptr;
}

} // namespace

char* write_shortest(char* p, double v) noexcept {
    if (!std::isfinite(v)) return fallback(p, v);
    if (v == 0) {
        if (std::signbit(v)) *p++ = '-';
        *p++ = '0';
        return p;
    }
    // v = ±significand · 10^exponent, with the fewest digits that read back to v (trailing zeros
    // removed; among equally short candidates the nearest, ties to even, as Ryu chooses).
    const auto d = jkj::dragonbox::to_decimal(v);
    const int n = digit_count(d.significand);
    const int e = d.exponent;
    const int sci_exponent = e + n - 1;
    const int abs_exponent = sci_exponent < 0 ? -sci_exponent : sci_exponent;
    // Lengths without the sign. Scientific: d[.ddd]e±XX[X]. Plain: the digits with e zeros after
    // them, or with the point inside them, or "0." and -e-n zeros before them.
    const int scientific_length = n + (n > 1 ? 1 : 0) + 2 + (abs_exponent >= 100 ? 3 : 2);
    const int plain_length = e >= 0 ? n + e : (n + e > 0 ? n + 1 : 2 - e);
    const bool plain = plain_length <= scientific_length; // ties go to plain, as in to_chars
    // Plain with zeros appended stands for an integer; above 2^53 std::to_chars writes the
    // double's exact integer value rather than the shortest digits padded with zeros.
    if (plain && e > 0 && std::fabs(v) >= 0x1p53) return fallback(p, v);

    // A double's shortest significand has at most 17 digits; the last n of the 17 are its own.
    std::array<char, 17> all_digits; // written before read; no need to zero it
    write_17_digits(all_digits.data(), d.significand);
    const char* const digits = all_digits.data() + (17 - n);
    if (d.is_negative) *p++ = '-';
    const auto un = static_cast<std::size_t>(n);
    if (plain) {
        if (e >= 0) {
            std::memcpy(p, digits, un);
            p += n;
            std::memset(p, '0', static_cast<std::size_t>(e));
            return p + e;
        }
        if (n + e > 0) {
            const auto integer_digits = static_cast<std::size_t>(n + e);
            std::memcpy(p, digits, integer_digits);
            p += integer_digits;
            *p++ = '.';
            std::memcpy(p, digits + integer_digits, static_cast<std::size_t>(-e));
            return p - e;
        }
        *p++ = '0';
        *p++ = '.';
        const auto zeros = static_cast<std::size_t>(-e - n);
        std::memset(p, '0', zeros);
        p += zeros;
        std::memcpy(p, digits, un);
        return p + n;
    }
    *p++ = digits[0];
    if (n > 1) {
        *p++ = '.';
        std::memcpy(p, digits + 1, un - 1);
        p += n - 1;
    }
    *p++ = 'e';
    *p++ = sci_exponent < 0 ? '-' : '+';
    int rest = abs_exponent;
    if (rest >= 100) {
        *p++ = static_cast<char>('0' + rest / 100);
        rest %= 100;
    }
    std::memcpy(p, k_digit_pairs + static_cast<std::size_t>(rest) * 2, 2);
    return p + 2;
}

} // namespace sluice::core
