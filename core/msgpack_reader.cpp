#include "core/msgpack_reader.hpp"

#include <bit>
#include <cstring>

namespace sluice::core {

bool MsgReader::take(std::size_t n, const unsigned char*& out) noexcept {
    if (remaining() < n) return false;
    out = m_p;
    m_p += n;
    return true;
}

bool MsgReader::read_be(std::size_t n, std::uint64_t& out) noexcept {
    const unsigned char* p = nullptr;
    if (!take(n, p)) return false;
    if (n == 8) { // doubles, the most frequent: one load and a byte swap
        std::memcpy(&out, p, sizeof out);
        if constexpr (std::endian::native == std::endian::little) out = __builtin_bswap64(out);
        return true;
    }
    out = 0;
    for (std::size_t i = 0; i < n; ++i) out = (out << 8) | p[i];
    return true;
}

bool MsgReader::read_array(std::uint32_t& count) noexcept {
    if (at_end()) return false;
    const unsigned char t = *m_p;
    std::uint64_t n = 0;
    if ((t & 0xF0) == 0x90) {
        ++m_p;
        count = t & 0x0F;
        return true;
    }
    if (t == 0xDC || t == 0xDD) {
        ++m_p;
        if (!read_be(t == 0xDC ? 2 : 4, n)) return false;
        // Each element takes at least one byte: a count beyond the bytes left is a lie.
        if (n > remaining()) return false;
        count = static_cast<std::uint32_t>(n);
        return true;
    }
    return false;
}

bool MsgReader::read_map(std::uint32_t& count) noexcept {
    if (at_end()) return false;
    const unsigned char t = *m_p;
    std::uint64_t n = 0;
    if ((t & 0xF0) == 0x80) {
        ++m_p;
        count = t & 0x0F;
        return true;
    }
    if (t == 0xDE || t == 0xDF) {
        ++m_p;
        if (!read_be(t == 0xDE ? 2 : 4, n)) return false;
        if (n > remaining() / 2) return false;
        count = static_cast<std::uint32_t>(n);
        return true;
    }
    return false;
}

bool MsgReader::read_str(std::string_view& out) noexcept {
    if (at_end()) return false;
    const unsigned char t = *m_p;
    std::uint64_t n = 0;
    if ((t & 0xE0) == 0xA0) {
        ++m_p;
        n = t & 0x1F;
    } else if (t >= 0xD9 && t <= 0xDB) {
        ++m_p;
        if (!read_be(std::size_t{1} << (t - 0xD9), n)) return false;
    } else {
        return false;
    }
    const unsigned char* p = nullptr;
    if (n > remaining() || !take(static_cast<std::size_t>(n), p)) return false;
    out = std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    return true;
}

bool MsgReader::read_bin(std::string_view& out) noexcept {
    if (at_end()) return false;
    const unsigned char t = *m_p;
    std::uint64_t n = 0;
    if (t < 0xC4 || t > 0xC6) return false;
    ++m_p;
    if (!read_be(std::size_t{1} << (t - 0xC4), n)) return false;
    const unsigned char* p = nullptr;
    if (n > remaining() || !take(static_cast<std::size_t>(n), p)) return false;
    out = std::string_view(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n));
    return true;
}

bool MsgReader::read_uint(std::uint64_t& out) noexcept {
    if (at_end()) return false;
    const unsigned char t = *m_p;
    if (t <= 0x7F) {
        ++m_p;
        out = t;
        return true;
    }
    if (t >= 0xCC && t <= 0xCF) {
        ++m_p;
        return read_be(std::size_t{1} << (t - 0xCC), out);
    }
    // Signed encodings of non-negative values are legal msgpack.
    if (t >= 0xD0 && t <= 0xD3) {
        ++m_p;
        const std::size_t width = std::size_t{1} << (t - 0xD0);
        std::uint64_t raw = 0;
        if (!read_be(width, raw)) return false;
        const std::uint64_t sign_bit = std::uint64_t{1} << (width * 8 - 1);
        if (raw & sign_bit) return false;
        out = raw;
        return true;
    }
    return false;
}

bool MsgReader::read_double(double& out) noexcept {
    if (at_end()) return false;
    const unsigned char t = *m_p;
    if (t == 0xCB) {
        ++m_p;
        std::uint64_t bits = 0;
        if (!read_be(8, bits)) return false;
        std::memcpy(&out, &bits, sizeof out);
        return true;
    }
    if (t == 0xCA) {
        ++m_p;
        std::uint64_t bits = 0;
        if (!read_be(4, bits)) return false;
        const auto b32 = static_cast<std::uint32_t>(bits);
        float f = 0;
        std::memcpy(&f, &b32, sizeof f);
        out = static_cast<double>(f);
        return true;
    }
    if (t >= 0xE0) { // negative fixint
        ++m_p;
        out = static_cast<double>(static_cast<std::int8_t>(t));
        return true;
    }
    if (t >= 0xD0 && t <= 0xD3) {
        ++m_p;
        const std::size_t width = std::size_t{1} << (t - 0xD0);
        std::uint64_t raw = 0;
        if (!read_be(width, raw)) return false;
        const unsigned shift = static_cast<unsigned>(64 - width * 8);
        out = static_cast<double>(static_cast<std::int64_t>(raw << shift) >> shift);
        return true;
    }
    std::uint64_t u = 0;
    if (!read_uint(u)) return false;
    out = static_cast<double>(u);
    return true;
}

bool MsgReader::read_bool(bool& out) noexcept {
    if (at_end()) return false;
    if (*m_p == 0xC2 || *m_p == 0xC3) {
        out = *m_p == 0xC3;
        ++m_p;
        return true;
    }
    return false;
}

bool MsgReader::skip(int max_depth) noexcept {
    if (at_end() || max_depth < 0) return false;
    const unsigned char t = *m_p;
    const unsigned char* p = nullptr;
    std::uint64_t n = 0;
    std::uint32_t count = 0;
    std::string_view s;
    if (t <= 0x7F || t >= 0xE0 || t == 0xC0 || t == 0xC2 || t == 0xC3) return take(1, p);
    if ((t & 0xE0) == 0xA0 || (t >= 0xD9 && t <= 0xDB)) return read_str(s);
    if (t >= 0xC4 && t <= 0xC6) return read_bin(s);
    if ((t & 0xF0) == 0x90 || t == 0xDC || t == 0xDD) {
        if (!read_array(count)) return false;
        for (std::uint32_t i = 0; i < count; ++i) {
            if (!skip(max_depth - 1)) return false;
        }
        return true;
    }
    if ((t & 0xF0) == 0x80 || t == 0xDE || t == 0xDF) {
        if (!read_map(count)) return false;
        for (std::uint64_t i = 0; i < std::uint64_t{count} * 2; ++i) {
            if (!skip(max_depth - 1)) return false;
        }
        return true;
    }
    switch (t) {
    case 0xCA:
        ++m_p;
        return take(4, p);
    case 0xCB:
        ++m_p;
        return take(8, p);
    case 0xCC:
    case 0xD0:
        ++m_p;
        return take(1, p);
    case 0xCD:
    case 0xD1:
        ++m_p;
        return take(2, p);
    case 0xCE:
    case 0xD2:
        ++m_p;
        return take(4, p);
    case 0xCF:
    case 0xD3:
        ++m_p;
        return take(8, p);
    case 0xD4:
        ++m_p;
        return take(2, p); // fixext 1
    case 0xD5:
        ++m_p;
        return take(3, p); // fixext 2
    case 0xD6:
        ++m_p;
        return take(5, p); // fixext 4
    case 0xD7:
        ++m_p;
        return take(9, p); // fixext 8
    case 0xD8:
        ++m_p;
        return take(17, p); // fixext 16
    case 0xC7:
    case 0xC8:
    case 0xC9: { // ext 8/16/32
        ++m_p;
        if (!read_be(std::size_t{1} << (t - 0xC7), n)) return false;
        if (n >= remaining()) return false;
        return take(static_cast<std::size_t>(n) + 1, p);
    }
    default:
        return false; // 0xC1 is never used
    }
}

} // namespace sluice::core
