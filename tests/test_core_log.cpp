#include "core/log.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace std::string_literals;
using sluice::core::printable_name;

TEST_CASE("A peer's name keeps printable ASCII as it is") {
    CHECK(printable_name("w-one host:1234 [a_b]~") == "w-one host:1234 [a_b]~");
    CHECK(printable_name("") == "");
}

TEST_CASE("A peer's name cannot carry control characters or terminal escapes") {
    // ESC [ 2 J would clear the screen of whoever runs `sluice status`; a newline would forge a
    // log line.
    CHECK(printable_name("evil\x1b[2J\nsluice: error: forged") == "evil?[2J?sluice: error: forged");
    CHECK(printable_name("a\0b\x7f"s) == "a?b?");
    CHECK(printable_name("caf\xc3\xa9") == "caf??");
}

TEST_CASE("A peer's name is cut to the given length") {
    CHECK(printable_name(std::string(300, 'x')) == std::string(128, 'x'));
    CHECK(printable_name("abcdef", 3) == "abc");
}
