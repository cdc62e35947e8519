// A minimal msgpack writer appending to a std::string. Doubles are always float64: msgpack-cxx's
// packer writes integral doubles as integers and -0.0 as 0, which would change values in transit.
#pragma once

#include <bit>
#include <cstdint>
#include <string>
#include <string_view>

namespace sluice::core {

class MsgWriter {
public:
    explicit MsgWriter(std::string& out) noexcept : m_out(out) {}

    void array(std::uint32_t n) { header(n, 0x90, 15, 0xDC, 0xDD); }
    void map(std::uint32_t n) { header(n, 0x80, 15, 0xDE, 0xDF); }
    void str(std::string_view s) {
        const auto n = static_cast<std::uint32_t>(s.size());
        if (n <= 31) {
            byte(0xA0 | n);
        } else {
            sized(n, 0xD9);
        }
        m_out.append(s);
    }
    void uint(std::uint64_t v) {
        if (v <= 0x7F) {
            byte(static_cast<unsigned>(v));
        } else if (v <= 0xFF) {
            byte(0xCC);
            be(v, 1);
        } else if (v <= 0xFFFF) {
            byte(0xCD);
            be(v, 2);
        } else if (v <= 0xFFFFFFFF) {
            byte(0xCE);
            be(v, 4);
        } else {
            byte(0xCF);
            be(v, 8);
        }
    }
    void float64(double d) {
        byte(0xCB);
        be(std::bit_cast<std::uint64_t>(d), 8);
    }
    void boolean(bool b) { byte(b ? 0xC3 : 0xC2); }
    // The header of a bin of n bytes; the caller appends the n bytes.
    void bin_header(std::uint32_t n) { sized(n, 0xC4); }

private:
    void byte(unsigned b) { m_out.push_back(static_cast<char>(b)); }
    // The 8-, 16- or 32-bit length form of str (0xD9...) or bin (0xC4...): consecutive type bytes.
    void sized(std::uint32_t n, unsigned type8) {
        if (n <= 0xFF) {
            byte(type8);
            byte(n);
        } else if (n <= 0xFFFF) {
            byte(type8 + 1);
            be(n, 2);
        } else {
            byte(type8 + 2);
            be(n, 4);
        }
    }
    void be(std::uint64_t v, int bytes) {
        char buf[8];
        for (int i = 0; i < bytes; ++i) buf[i] = static_cast<char>(v >> (8 * (bytes - 1 - i)));
        m_out.append(buf, static_cast<std::size_t>(bytes));
    }
    void header(std::uint32_t n, unsigned fix, std::uint32_t fix_max, unsigned b16, unsigned b32) {
        if (n <= fix_max) {
            byte(fix | n);
        } else if (n <= 0xFFFF) {
            byte(b16);
            be(n, 2);
        } else {
            byte(b32);
            be(n, 4);
        }
    }

    std::string& m_out;
};

} // namespace sluice::core
