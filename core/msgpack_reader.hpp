// A bounds-checked msgpack cursor for decoding untrusted bytes without building an object tree.
// Every read checks the type byte and every length against the bytes left before touching them;
// a failed read returns false and the message should be dropped (the cursor position is then
// unspecified). Strings are returned as views into the input, so decoding allocates nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::core {

class MsgReader {
public:
    MsgReader(const void* data, std::size_t size) noexcept
        : m_p(static_cast<const unsigned char*>(data)), m_end(m_p + size) {}
    explicit MsgReader(std::string_view bytes) noexcept : MsgReader(bytes.data(), bytes.size()) {}

    [[nodiscard]] bool read_array(std::uint32_t& count) noexcept;
    [[nodiscard]] bool read_map(std::uint32_t& count) noexcept;
    // str family only (not bin).
    [[nodiscard]] bool read_str(std::string_view& out) noexcept;
    // bin family only.
    [[nodiscard]] bool read_bin(std::string_view& out) noexcept;
    // float64, float32 or any integer (converted).
    [[nodiscard]] bool read_double(double& out) noexcept;
    // Non-negative integers of any width.
    [[nodiscard]] bool read_uint(std::uint64_t& out) noexcept;
    [[nodiscard]] bool read_bool(bool& out) noexcept;
    // Skips one value of any type; nesting deeper than `max_depth` fails.
    [[nodiscard]] bool skip(int max_depth = 32) noexcept;

    [[nodiscard]] bool at_end() const noexcept { return m_p == m_end; }
    [[nodiscard]] std::size_t remaining() const noexcept {
        return static_cast<std::size_t>(m_end - m_p);
    }

private:
    [[nodiscard]] bool take(std::size_t n, const unsigned char*& out) noexcept;
    [[nodiscard]] bool read_be(std::size_t n, std::uint64_t& out) noexcept;

    const unsigned char* m_p;
    const unsigned char* m_end;
};

} // namespace sluice::core
