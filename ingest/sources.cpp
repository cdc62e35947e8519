#include "ingest/sources.hpp"

#include "core/log.hpp"

#include <cerrno>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <numbers>
#include <poll.h>
#include <random>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace sluice::ingest {

DeadLetters::DeadLetters(const std::string& path) : m_path(path) {
    if (path.empty()) return;
    m_file = std::fopen(path.c_str(), "w");
    if (m_file == nullptr)
        throw std::runtime_error("cannot open dead-letter file '" + path +
                                 "': " + std::strerror(errno));
}

DeadLetters::~DeadLetters() {
    if (m_file != nullptr) std::fclose(m_file);
}

void DeadLetters::add(std::string_view source, std::uint64_t line, std::string_view reason,
                      std::string_view raw) {
    ++m_count;
    if (m_count <= k_logged) {
        core::log_warn("bad input: ", source, " line ", line, ": ", reason,
                       m_count < k_logged ? ""
                       : m_file != nullptr
                           ? " (further bad input is counted and written to the dead-letter file, "
                             "not logged)"
                           : " (further bad input is counted, not logged; --dead-letter FILE "
                             "keeps every bad line)");
    }
    if (m_file == nullptr) return;
    m_line.clear();
    m_line += "{\"source\":\"";
    core::append_json_escaped(m_line, source);
    m_line += "\",\"line\":";
    m_line += std::to_string(line);
    m_line += ",\"reason\":\"";
    core::append_json_escaped(m_line, reason);
    m_line += "\",\"raw\":\"";
    core::append_json_escaped(m_line, raw.substr(0, 4096));
    m_line += "\"}\n";
    std::fwrite(m_line.data(), 1, m_line.size(), m_file);
}

std::string DeadLetters::summary() const {
    if (m_count == 0) return {};
    std::string s = std::to_string(m_count) +
                    (m_count == 1 ? " bad input line was" : " bad input lines were") +
                    " not sent (dead letters; ";
    s += m_file != nullptr ? "written to '" + m_path + "')"
                           : "give --dead-letter FILE to keep them)";
    return s;
}

void DeadLetters::flush() {
    if (m_file != nullptr) std::fflush(m_file);
}

namespace {

class Generator final : public Source {
public:
    explicit Generator(const GeneratorSpec& spec)
        : m_spec(spec), m_rng(spec.seed), m_started(core::now()) {}

    Pull pull(std::vector<core::Reading>& out, std::size_t max, DeadLetters&) override {
        if (m_next >= m_spec.count) return Pull::end;
        std::uint64_t limit = std::min<std::uint64_t>(m_spec.count, m_next + max);
        if (m_spec.rate > 0) {
            // Steady pacing against the start time, so that rounding never accumulates into drift.
            const double due = core::elapsed_seconds(m_started) * m_spec.rate;
            limit = std::min<std::uint64_t>(limit, static_cast<std::uint64_t>(due) + 1);
            if (limit <= m_next) return Pull::would_block;
        }
        for (; m_next < limit; ++m_next) {
            core::Reading& r = out.emplace_back();
            r.sensor_id = "S";
            r.sensor_id += std::to_string(m_next % m_spec.sensors);
            r.timestamp = m_spec.start + static_cast<double>(m_next) * 0.001;
            r.value = 50.0 + 15.0 * normal();
            r.unit = "C";
        }
        if (m_next >= m_spec.count) return Pull::end;
        return m_spec.rate > 0 && out.size() < max ? Pull::would_block : Pull::more;
    }

    core::TimePoint wake() const override {
        return m_spec.rate > 0
                   ? m_started + core::seconds(static_cast<double>(m_next) / m_spec.rate)
                   : core::TimePoint{};
    }

    std::string describe() const override {
        return "generator (" + std::to_string(m_spec.count) + " readings, " +
               std::to_string(m_spec.sensors) + " sensors, seed " + std::to_string(m_spec.seed) +
               ")";
    }

private:
    // Box-Muller from two 53-bit uniforms in (0, 1]: portable, unlike std::normal_distribution.
    double normal() {
        const double u1 = (static_cast<double>(m_rng() >> 11) + 1.0) * 0x1.0p-53;
        const double u2 = (static_cast<double>(m_rng() >> 11) + 1.0) * 0x1.0p-53;
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
    }

    GeneratorSpec m_spec;
    std::mt19937_64 m_rng;
    core::TimePoint m_started;
    std::uint64_t m_next = 0;
};

class LineSource final : public Source {
public:
    LineSource(const std::string& path, core::InputFormat format, std::string unit,
               std::size_t max_line)
        : m_name(path == "-" ? "stdin" : path), m_format(format), m_unit(std::move(unit)),
          m_max_line(max_line) {
        if (path == "-") {
            m_fd = STDIN_FILENO;
        } else {
            m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (m_fd < 0)
                throw std::runtime_error("cannot open input '" + path +
                                         "': " + std::strerror(errno));
            m_owned = true;
        }
        struct stat st {};
        m_regular = ::fstat(m_fd, &st) == 0 && S_ISREG(st.st_mode);
        if (m_regular) m_size = static_cast<std::uint64_t>(st.st_size);
        m_need_header = format == core::InputFormat::csv;
        m_buffer.resize(k_chunk);
    }
    ~LineSource() override {
        if (m_owned) ::close(m_fd);
    }
    LineSource(const LineSource&) = delete;
    LineSource& operator=(const LineSource&) = delete;

    Pull pull(std::vector<core::Reading>& out, std::size_t max, DeadLetters& dead) override {
        const std::size_t target = out.size() + max;
        while (out.size() < target) {
            // Whole lines already buffered first.
            const char* begin = m_buffer.data() + m_pos;
            const char* end = m_buffer.data() + m_len;
            const void* nl = std::memchr(begin, '\n', static_cast<std::size_t>(end - begin));
            if (nl != nullptr) {
                const char* stop = static_cast<const char*>(nl);
                take_line(std::string_view(begin, static_cast<std::size_t>(stop - begin)), out,
                          dead);
                m_pos += static_cast<std::size_t>(stop - begin) + 1;
                continue;
            }
            if (m_eof) {
                if (m_pos < m_len) take_line(std::string_view(begin, m_len - m_pos), out, dead);
                m_pos = m_len;
                return Pull::end;
            }
            const Pull r = fill(dead);
            if (r != Pull::more) return r;
        }
        return Pull::more;
    }

    int fd() const override { return m_fd; }
    Progress progress() const override { return {m_read, m_size}; }
    bool stored() const override { return m_regular; }
    std::string describe() const override {
        return std::string(core::input_format_name(m_format)) + " from " +
               (m_owned ? "'" + m_name + "'" : m_name);
    }

private:
    static constexpr std::size_t k_chunk = 1 << 18;

    // Reads more bytes, keeping the partial line at the front of the buffer.
    Pull fill(DeadLetters& dead) {
        if (m_pos > 0) {
            std::memmove(m_buffer.data(), m_buffer.data() + m_pos, m_len - m_pos);
            m_len -= m_pos;
            m_pos = 0;
        }
        if (m_len >= m_max_line) {
            // No newline within the limit: report the line and skip to its end.
            ++m_line_no;
            dead.add(m_name, m_line_no, "line is longer than --max-line",
                     std::string_view(m_buffer.data(), 256));
            m_len = 0;
            m_skipping = true;
        }
        if (m_buffer.size() - m_len < k_chunk / 2)
            m_buffer.resize(std::max(m_buffer.size() * 2, m_len + k_chunk));
        if (!m_regular) {
            pollfd p{m_fd, POLLIN, 0};
            if (::poll(&p, 1, 0) == 0) return Pull::would_block;
        }
        const ssize_t n = ::read(m_fd, m_buffer.data() + m_len, m_buffer.size() - m_len);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) return Pull::would_block;
            throw std::runtime_error("cannot read " + m_name + ": " + std::strerror(errno));
        }
        if (n == 0) {
            m_eof = true;
            return Pull::more;
        }
        std::size_t start = m_len;
        m_len += static_cast<std::size_t>(n);
        m_read += static_cast<std::uint64_t>(n);
        if (m_skipping) {
            const void* nl = std::memchr(m_buffer.data() + start, '\n', m_len - start);
            if (nl == nullptr) {
                m_len = 0;
                return Pull::more;
            }
            m_pos = static_cast<std::size_t>(static_cast<const char*>(nl) - m_buffer.data()) + 1;
            m_skipping = false;
        }
        return Pull::more;
    }

    void take_line(std::string_view line, std::vector<core::Reading>& out, DeadLetters& dead) {
        ++m_line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos)
            return; // blank lines carry nothing
        if (m_need_header) {
            m_need_header = false;
            if (const auto err = core::parse_csv_header(line, m_columns)) {
                throw std::runtime_error(m_name + " line " + std::to_string(m_line_no) +
                                         ": bad CSV header: " + std::string(err->reason));
            }
            return;
        }
        core::Reading& r = out.emplace_back();
        if (const auto err = core::parse_line(m_format, m_columns, line, m_unit, r)) {
            out.pop_back();
            dead.add(m_name, m_line_no, err->reason, line);
        }
    }

    std::string m_name;
    core::InputFormat m_format;
    std::string m_unit;
    std::size_t m_max_line;
    int m_fd = -1;
    bool m_owned = false;
    bool m_regular = false;
    std::uint64_t m_size = 0;
    std::uint64_t m_read = 0;
    bool m_eof = false;
    bool m_skipping = false;
    bool m_need_header = false;
    core::CsvColumns m_columns;
    std::vector<char> m_buffer;
    std::size_t m_pos = 0;
    std::size_t m_len = 0;
    std::uint64_t m_line_no = 0;
};

} // namespace

std::unique_ptr<Source> make_generator(const GeneratorSpec& spec) {
    return std::make_unique<Generator>(spec);
}

std::unique_ptr<Source> make_line_source(const std::string& path, core::InputFormat format,
                                         std::string unit, std::size_t max_line) {
    return std::make_unique<LineSource>(path, format, std::move(unit), max_line);
}

} // namespace sluice::ingest
