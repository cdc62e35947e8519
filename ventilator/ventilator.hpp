// The ventilator: accepts batches from any number of ingest streams and fixes one total order
// (SPEC §3); attaches to each batch the last W-1 values of its sensors so that stateless workers
// compute exact windows; dispatches batches to workers by credit; re-dispatches the work of dead,
// hung or cut-off workers; holds every batch until the sink has written it; ends the job (SPEC §8).
#pragma once

#include "core/job.hpp"
#include "core/options.hpp"

#include <cstdint>
#include <string>

namespace sluice::ventilator {

struct Options {
    std::string bind_ingest = "tcp://*:5557";
    std::string bind_workers = "tcp://*:5558";
    std::string bind_sink = "tcp://*:5560";
    std::uint32_t expect_ingest = 0; // 0 = endless job
    std::string calibration;         // CSV sensorId,offset,scale; empty = defaults for every sensor
    std::uint32_t window = 50;
    std::uint32_t heavy = 0;
    // MiB of windows a worker may keep between tasks (0 = no limit; core::kept_windows_for).
    std::uint32_t worker_window_memory = core::k_default_worker_window_mib;
    std::uint32_t max_in_flight = 64; // batches held between acceptance and the sink's commit
    std::uint32_t max_credits = 16;   // cap on what one worker may ask for
    double heartbeat_interval = 0.5;  // seconds
    double worker_timeout = 3.0;      // silence after which a worker is presumed dead
    double task_timeout = 60.0;       // an assignment older than this is dispatched again
    double retry_after = 3.0;    // a done batch the sink still lacks after this is dispatched again
    double drain_timeout = 30.0; // bound on finishing held work after SIGINT/SIGTERM
    int ingest_hwm = 64;         // messages queued per ingest connection
    core::NodeOptions node;
};

void add_options(CLI::App& app, Options& options);

// Runs the ventilator until the job ends (returns 0) or a stop signal has been drained (0).
// Throws std::runtime_error on a fatal condition (a port that cannot be bound, a bad calibration).
[[nodiscard]] int run(const Options& options);

// main(): flags, then run().
int ventilator_main(int argc, char** argv);

} // namespace sluice::ventilator
