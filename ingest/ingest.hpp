// The ingest node: reads readings from one source, validates them, and pushes msgpack batches to
// the ventilator as one stream. Delivery is acknowledged: at most --max-unacked batches are
// unacknowledged at once, so a slow pipeline slows the reading of the source (backpressure), and
// a lost batch is sent again. The stream ends with an acknowledged end-of-stream.
#pragma once

#include "core/options.hpp"
#include "ingest/sources.hpp"

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
    std::uint32_t batch_size = 1000;
    double flush_interval = 0.05; // seconds a partial batch may wait for more readings
    std::uint32_t max_unacked = 8;
    double ack_timeout = 2.0;    // seconds before unacknowledged batches are sent again
    double drain_timeout = 10.0; // bound on waiting for acknowledgements after SIGTERM
    std::uint32_t max_line = 1 << 20;
    std::uint64_t stream_id = 0; // 0 = random
    core::NodeOptions node;
};

void add_options(CLI::App& app, Options& options);

// Returns 0 once the ventilator acknowledged the end of the stream.
[[nodiscard]] int run(const Options& options);

int ingest_main(int argc, char** argv);

} // namespace sluice::ingest
