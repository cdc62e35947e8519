// The ingest node: reads readings from one source, validates them, and pushes msgpack batches to
// the ventilator as one stream. Delivery is acknowledged: at most --max-unacked batches are
// unacknowledged at once, so a slow pipeline slows the reading of the source (backpressure), and
// a lost batch is sent again. The stream ends with an acknowledged end-of-stream.
#pragma once

#include "core/options.hpp"
#include "ingest/sources.hpp"

#include <algorithm>
#include <cstdint>
#include <string>

namespace sluice::ingest {

struct Options {
    std::string ventilator = "tcp://localhost:5557";
    std::string input;  // FILE or "-"; empty = the generator
    std::string listen; // tcp://HOST:PORT: accept sensors (exclusive with input)
    std::uint32_t max_connections = 4096;
    double idle_timeout = 60.0; // seconds; 0 = never
    std::string format; // csv or jsonl; empty = from the extension (.jsonl/.json/.ndjson), else csv
    std::string unit = "C";
    std::string dead_letter;
    GeneratorSpec generator;
    std::uint32_t batch_size = 0;     // 0 = by the source: batch_size_for()
    std::uint32_t max_batch_size = 0; // 0 = batch_size: batches do not grow
    double flush_interval = 0.05;     // seconds a partial batch may wait for more readings
    std::uint32_t max_unacked = 8;
    double ack_timeout = 2.0;    // seconds before unacknowledged batches are sent again
    double drain_timeout = 10.0; // bound on waiting for acknowledgements after SIGTERM
    std::uint32_t max_line = 1 << 20;
    std::uint64_t stream_id = 0; // 0 = random
    core::NodeOptions node;
};

void add_options(CLI::App& app, Options& options);

// The default --batch-size of a live source (stdin from a pipe or a terminal, sensors over TCP,
// the generator), whose readings must not wait long for a batch to fill: the size that keeps the
// latency target (docs/BENCHMARKS.md, "Batch size").
inline constexpr std::uint32_t k_live_batch_size = 1000;
// The default --batch-size of a stored input (a regular file, Source::stored()): nothing there
// waits for a batch to fill, so only throughput counts, and 2,000 readings per batch take ~9 % off
// the wall time of a job against 1,000 (docs/BENCHMARKS.md, "Batch size by source").
inline constexpr std::uint32_t k_stored_batch_size = 2000;

// --batch-size when given; else the default for the source, but never more than a given
// --max-batch-size.
[[nodiscard]] inline std::uint32_t batch_size_for(std::uint32_t batch_size,
                                                  std::uint32_t max_batch_size, bool stored) {
    if (batch_size != 0) return batch_size;
    const std::uint32_t size = stored ? k_stored_batch_size : k_live_batch_size;
    return max_batch_size != 0 ? std::min(size, max_batch_size) : size;
}

// The most readings a batch may hold: --max-batch-size, or --batch-size when it is 0. Throws
// core::UsageError when --max-batch-size is below --batch-size.
// (Inline: `sluice run` checks it too, before it starts any process; a --batch-size of 0, the
// source's default, cannot conflict.)
[[nodiscard]] inline std::size_t max_batch_readings(std::uint32_t batch_size,
                                                    std::uint32_t max_batch_size) {
    if (max_batch_size == 0 || batch_size == 0) return std::max(batch_size, max_batch_size);
    if (max_batch_size < batch_size) {
        throw core::UsageError("--max-batch-size (" + std::to_string(max_batch_size) +
                               ") must be at least --batch-size (" + std::to_string(batch_size) +
                               "), or 0 for batches that do not grow");
    }
    return max_batch_size;
}

// Returns 0 once the ventilator acknowledged the end of the stream.
[[nodiscard]] int run(const Options& options);

int ingest_main(int argc, char** argv);

} // namespace sluice::ingest
