// One line per event on stderr: "<program>: <level>: <message>". Each line is a single write(2),
// so lines of processes sharing a terminal never interleave. Never log per record.
#pragma once

#include <cstddef>
#include <sstream>
#include <string>
#include <string_view>

namespace sluice::core {

enum class LogLevel { error = 0, warn = 1, info = 2, debug = 3 };

void set_log_program(std::string program);
[[nodiscard]] const std::string& log_program();
// Accepts error, warn, info, debug; returns false for anything else.
[[nodiscard]] bool set_log_level(std::string_view level);
[[nodiscard]] bool log_enabled(LogLevel level) noexcept;
void log_line(LogLevel level, std::string_view message);

// A name chosen by a peer (a worker's or sink's --name), made safe to print in logs and in the
// `sluice status` table: at most `max_bytes` bytes, and every byte outside printable ASCII
// (control characters, escape sequences, non-ASCII) replaced by '?'.
[[nodiscard]] std::string printable_name(std::string_view raw, std::size_t max_bytes = 128);

template <class... Args>
void log(LogLevel level, const Args&... args) {
    if (!log_enabled(level)) return;
    std::ostringstream s;
    s.precision(6);
    (s << ... << args);
    log_line(level, s.str());
}
template <class... Args>
void log_error(const Args&... a) {
    log(LogLevel::error, a...);
}
template <class... Args>
void log_warn(const Args&... a) {
    log(LogLevel::warn, a...);
}
template <class... Args>
void log_info(const Args&... a) {
    log(LogLevel::info, a...);
}
template <class... Args>
void log_debug(const Args&... a) {
    log(LogLevel::debug, a...);
}

} // namespace sluice::core
