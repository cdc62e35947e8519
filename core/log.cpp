#include "core/log.hpp"

#include <atomic>
#include <unistd.h>

namespace sluice::core {

namespace {
std::string g_program = "sluice";
std::atomic<int> g_level{static_cast<int>(LogLevel::info)};

constexpr std::string_view level_name(LogLevel level) {
    switch (level) {
    case LogLevel::error:
        return "error";
    case LogLevel::warn:
        return "warning";
    case LogLevel::info:
        return "info";
    case LogLevel::debug:
        return "debug";
    }
    return "info";
}
} // namespace

void set_log_program(std::string program) {
    g_program = std::move(program);
}
const std::string& log_program() {
    return g_program;
}

bool set_log_level(std::string_view level) {
    static constexpr std::pair<std::string_view, LogLevel> k_levels[] = {
        {"error", LogLevel::error},
        {"warn", LogLevel::warn},
        {"info", LogLevel::info},
        {"debug", LogLevel::debug}};
    for (const auto& [name, value] : k_levels) {
        if (name == level) {
            g_level = static_cast<int>(value);
            return true;
        }
    }
    return false;
}

bool log_enabled(LogLevel level) noexcept {
    return static_cast<int>(level) <= g_level.load(std::memory_order_relaxed);
}

void log_line(LogLevel level, std::string_view message) {
    std::string line;
    line.reserve(g_program.size() + message.size() + 16);
    line += g_program;
    line += ": ";
    line += level_name(level);
    line += ": ";
    line += message;
    line += '\n';
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {
        const ssize_t n = ::write(STDERR_FILENO, p, left);
        if (n <= 0) return; // stderr is gone; nothing sensible to do
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

std::string printable_name(std::string_view raw, std::size_t max_bytes) {
    std::string name(raw.substr(0, max_bytes));
    for (char& c : name) {
        if (c < 0x20 || c > 0x7e) c = '?'; // char may be signed: bytes >= 0x80 are negative
    }
    return name;
}

} // namespace sluice::core
