// The sink: receives formatted results from workers, restores the total order, drops duplicates,
// writes the output (SPEC §5) and tells the ventilator how far it has written, so that the
// ventilator can release batches and re-send what never arrived.
#pragma once

#include "core/options.hpp"

#include <cstdint>
#include <string>

namespace sluice::sink {

struct Options {
    std::string bind = "tcp://*:5559";
    std::string ventilator = "tcp://localhost:5560";
    std::string output = "-";
    std::string format;                // jsonl, csv or msgpack; empty = from the output's extension
    std::uint32_t max_buffered = 4096; // batches held for reordering
    int hwm = 1000;                    // receive high-water mark (messages)
    bool fsync = true;                 // fsync a file output at the end of the job
    core::NodeOptions node;
};

void add_options(CLI::App& app, Options& options);

// Runs until the job's every batch is written (0) or a stop signal (0).
[[nodiscard]] int run(const Options& options);

int sink_main(int argc, char** argv);

} // namespace sluice::sink
