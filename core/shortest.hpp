// The shortest text that reads back to the same double (SPEC §5), in exactly the layout of
// std::to_chars(first, last, double): plain notation, or scientific where that is strictly
// shorter ("1e-05", "1.5e+300"), at least two exponent digits, "-0" for negative zero.
//
// The digits come from Dragonbox (Debian's libdragonbox-dev, jkj::dragonbox::to_decimal), the
// layout from a printer of ours. It writes the same bytes as libstdc++'s std::to_chars (Ryu) in
// about three quarters of the time (docs/BENCHMARKS.md, "Formatting doubles"); the tests compare
// the two on millions of values.
#pragma once

#include <cstddef>

namespace sluice::core {

// Room write_shortest needs: "-2.2250738585072014e-308" is 24 characters.
inline constexpr std::size_t k_shortest_max = 24;

// Writes the shortest round-trip text of `v` at `p` (k_shortest_max bytes must be free) and returns
// the end. Non-finite values are written as std::to_chars writes them ("inf", "-nan").
char* write_shortest(char* p, double v) noexcept;

} // namespace sluice::core
