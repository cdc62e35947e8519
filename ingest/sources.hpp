// Where readings come from (SPEC §2): lines of a file or stdin (CSV or JSON Lines) and the
// synthetic generator. A source hands out valid readings in input order and reports every bad
// line to the dead letters; it never blocks when asked for more.
#pragma once

#include "core/clock.hpp"
#include "core/line_parse.hpp"
#include "core/record.hpp"

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace sluice::ingest {

// Bad input, counted and (with a path) written as JSON Lines:
// {"source":"data.csv","line":12,"reason":"value is not finite","raw":"S1,12,nan"}
// The first k_logged are also logged as warnings naming source, line and reason, so that a user
// without a dead-letter file (or behind `sluice run`) learns what was wrong and where; after
// that, bad input is only counted (status and summary lines) and written to the file.
class DeadLetters {
public:
    static constexpr std::uint64_t k_logged = 10;

    // Empty path: count only. Throws std::runtime_error when the file cannot be opened.
    explicit DeadLetters(const std::string& path);
    ~DeadLetters();
    DeadLetters(const DeadLetters&) = delete;
    DeadLetters& operator=(const DeadLetters&) = delete;

    void add(std::string_view source, std::uint64_t line, std::string_view reason,
             std::string_view raw);
    void flush();
    [[nodiscard]] std::uint64_t count() const noexcept { return m_count; }
    // The summary's warning when there was bad input ("12 bad input lines were not sent; ..."),
    // empty when there was none.
    [[nodiscard]] std::string summary() const;

private:
    std::string m_path;
    std::FILE* m_file = nullptr;
    std::uint64_t m_count = 0;
    std::string m_line;
};

enum class Pull { more, would_block, end };

class Source {
public:
    virtual ~Source() = default;
    // Appends at most `max` valid readings to `out`. would_block: nothing more right now (poll
    // fd() or wait until wake()); end: the source is exhausted.
    [[nodiscard]] virtual Pull pull(std::vector<core::Reading>& out, std::size_t max,
                                    DeadLetters& dead) = 0;
    [[nodiscard]] virtual int fd() const { return -1; }
    // When to pull again without a ready fd(); {} for a source with an fd() means "no deadline".
    [[nodiscard]] virtual core::TimePoint wake() const { return {}; }
    [[nodiscard]] virtual std::string describe() const = 0;
    // Counters for the final summary line; empty when the source has none.
    [[nodiscard]] virtual std::string summary() const { return {}; }
    // Bytes consumed so far and the total when known (a regular file), else 0.
    struct Progress {
        std::uint64_t done = 0;
        std::uint64_t total = 0;
    };
    [[nodiscard]] virtual Progress progress() const { return {}; }
    // True when the whole input is already there to be read (a regular file, named or on stdin):
    // its readings arrive as fast as the pipeline takes them, none waits for a batch to fill, so
    // the ingest may send larger batches (Options::batch_size).
    [[nodiscard]] virtual bool stored() const { return false; }
};

struct GeneratorSpec {
    std::uint64_t count = 1000000;
    std::uint32_t sensors = 100;
    std::uint64_t seed = 42;
    double rate = 0.0; // readings per second, 0 = as fast as possible
    double start = 1700000000.0;
};

// Reading i: sensorId "S" + (i mod sensors), timestamp start + i*0.001, value 50 + 15·z with z
// standard normal (Box-Muller over mt19937_64 seeded with `seed`), unit "C".
[[nodiscard]] std::unique_ptr<Source> make_generator(const GeneratorSpec& spec);

// Lines of `path` ("-" = stdin). Lines longer than `max_line` bytes are dead letters.
[[nodiscard]] std::unique_ptr<Source> make_line_source(const std::string& path,
                                                       core::InputFormat format, std::string unit,
                                                       std::size_t max_line);

} // namespace sluice::ingest
