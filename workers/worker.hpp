// The worker: stateless feature computation (SPEC §4). It asks the ventilator for work by credit,
// computes the features of each batch with the job's configuration (which arrives from the
// ventilator), formats the output records and pushes them to the sink. It may join or leave at any
// time; the ventilator re-dispatches whatever it held.
#pragma once

#include "core/options.hpp"

#include <cstdint>
#include <string>

namespace sluice::workers {

struct Options {
    std::string ventilator = "tcp://localhost:5558";
    std::string sink = "tcp://localhost:5559";
    std::uint32_t credits = 4;       // batches held at once (one computing, the rest queued)
    bool serve = false;              // stay for the next job instead of exiting at job end
    double heartbeat_interval = 0.5; // seconds
    double ventilator_timeout = 5.0; // silence after which the worker introduces itself again
    double throttle = 0.0;           // extra seconds per batch (testing heterogeneous workers)
    std::string name;                // shown in the ventilator's logs; default host:pid
    core::NodeOptions node;
};

void add_options(CLI::App& app, Options& options);

// Runs until the job ends (unless serve) or a stop signal; returns the exit status.
[[nodiscard]] int run(const Options& options);

int worker_main(int argc, char** argv);

} // namespace sluice::workers
