#include "core/record.hpp"

#include <cmath>

namespace sluice::core {

bool is_valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const unsigned char c = *p;
        if (c < 0x80) {
            ++p;
            continue;
        }
        std::size_t n = 0;
        std::uint32_t cp = 0;
        if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (static_cast<std::size_t>(end - p) <= n) return false;
        for (std::size_t i = 1; i <= n; ++i) {
            if ((p[i] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (p[i] & 0x3F);
        }
        static constexpr std::uint32_t k_min_for_length[] = {0, 0x80, 0x800, 0x10000};
        if (cp < k_min_for_length[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            return false;
        }
        p += n + 1;
    }
    return true;
}

Invalid validate(std::string_view sensor_id, double timestamp, double value,
                 std::string_view unit) noexcept {
    if (sensor_id.empty()) return Invalid::empty_sensor_id;
    if (sensor_id.size() > k_max_sensor_id_bytes) return Invalid::sensor_id_too_long;
    if (!is_valid_utf8(sensor_id)) return Invalid::sensor_id_not_utf8;
    if (unit.size() > k_max_unit_bytes) return Invalid::unit_too_long;
    if (!is_valid_utf8(unit)) return Invalid::unit_not_utf8;
    if (!std::isfinite(timestamp)) return Invalid::timestamp_not_finite;
    if (!std::isfinite(value)) return Invalid::value_not_finite;
    return Invalid::none;
}

std::string_view reason_text(Invalid why) noexcept {
    switch (why) {
    case Invalid::none:
        return "valid";
    case Invalid::empty_sensor_id:
        return "sensorId is empty";
    case Invalid::sensor_id_too_long:
        return "sensorId is longer than 256 bytes";
    case Invalid::sensor_id_not_utf8:
        return "sensorId is not valid UTF-8";
    case Invalid::unit_too_long:
        return "unit is longer than 32 bytes";
    case Invalid::unit_not_utf8:
        return "unit is not valid UTF-8";
    case Invalid::timestamp_not_finite:
        return "timestamp is not finite";
    case Invalid::value_not_finite:
        return "value is not finite";
    }
    return "invalid";
}

} // namespace sluice::core
