// The `sluice` launcher. `sluice run` starts a whole local topology for one job (ventilator, sink,
// N workers and one ingest as child processes over ipc:// endpoints in a private directory, so no
// port is needed and runs never collide) and returns the job's status. `sluice status` shows a
// running topology from its ventilator. `sluice keygen` makes a CURVE key pair.
#pragma once

#include "core/job.hpp"
#include "core/options.hpp"
#include "ingest/sources.hpp"

#include <cstdint>
#include <string>

namespace sluice::tools {

struct RunOptions {
    std::string input;
    std::string input_format;
    std::string output = "-";
    std::string output_format;
    std::string unit = "C";
    std::string dead_letter;
    ingest::GeneratorSpec generator;
    std::string calibration;
    std::uint32_t window = 50;
    std::uint32_t heavy = 0;
    std::uint32_t worker_window_memory = core::k_default_worker_window_mib; // MiB, 0 = no limit
    std::uint32_t workers = 0;        // 0 = the number of cores
    std::uint32_t batch_size = 0;     // 0 = the ingest's default for its source
    std::uint32_t max_batch_size = 0; // 0 = batch_size: batches do not grow
    std::uint32_t credits = 4;
    std::uint32_t max_in_flight = 64;
    std::string child_log_level = "warn";
    bool no_progress = false;
    core::NodeOptions node;
};

struct KeygenOptions {
    std::string name = "sluice";
    std::string dir = ".";
};

struct StatusOptions {
    std::string endpoint; // HOST:PORT of the ventilator's --metrics
    bool once = false;
    double interval = 1.0;
};

[[nodiscard]] int run_job(const RunOptions& options, const std::string& self_dir);
[[nodiscard]] int keygen(const KeygenOptions& options);
// `sluice status ENDPOINT`: the ventilator's live topology table (GET /status), redrawn every
// interval on a terminal, printed once with --once.
[[nodiscard]] int status(const StatusOptions& options);

int launcher_main(int argc, char** argv);

} // namespace sluice::tools
