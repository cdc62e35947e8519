// Command-line plumbing shared by every executable (SPEC §1): flags bound to plain option structs,
// `--config FILE` (TOML, the same keys as the long flags), `SLUICE_<FLAG>` environment variables,
// and one top-level handler that turns outcomes into exit statuses.
#pragma once

#include "core/security.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace sluice::core {

// Bad usage found after parsing (an invalid combination or value). Exit status 2.
struct UsageError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

// Options every node has.
struct NodeOptions {
    double stats_interval = 10.0; // seconds between status lines on stderr, 0 = off
    std::string log_level = "info";
    std::string metrics; // HOST:PORT serving /metrics; empty = off
    CurveOptions curve;  // declared on the CLI by nodes that have sockets (add_curve_options)
};

// "SLUICE_" + the flag's name upper-cased with '-' as '_': --bind-ingest -> SLUICE_BIND_INGEST.
[[nodiscard]] std::string env_name(std::string_view flag);

// Declares `--name` bound to `field`, also settable from its environment variable and config file.
template <class T>
CLI::Option* add_option(CLI::App& app, const std::string& flag, T& field, const std::string& help) {
    return app.add_option(flag, field, help)->envname(env_name(flag))->capture_default_str();
}
CLI::Option* add_flag(CLI::App& app, const std::string& flag, bool& field, const std::string& help);

void add_node_options(CLI::App& app, NodeOptions& options);
// --metrics HOST:PORT, for the nodes (not the launcher).
void add_metrics_option(CLI::App& app, NodeOptions& options);

// Microseconds since the Unix epoch (wall clock), for latencies measured across processes.
[[nodiscard]] std::uint64_t wall_micros() noexcept;

// Creates the app of `program` ("sluice-sink") with --version and --config.
[[nodiscard]] std::unique_ptr<CLI::App> make_app(const std::string& program,
                                                 const std::string& description);

// The single top-level handler: blocks SIGINT/SIGTERM (see stop_fd), parses argv, applies the
// log level, then runs `body`. Returns the exit status: the body's on success, 2 on bad usage with
// one line naming the flag, 1 on any other failure with "<program>: error: <what>".
int run_node(CLI::App& app, int argc, char** argv, const NodeOptions* node,
             const std::function<int()>& body);

// A file descriptor (signalfd) that becomes readable when SIGINT or SIGTERM arrives; put it in a
// poll set. Valid once run_node started. stop_requested() is true from the first such signal on.
[[nodiscard]] int stop_fd() noexcept;
[[nodiscard]] bool stop_requested() noexcept;
// Told by core::poll when it saw stop_fd() readable, so that stop_requested() reads it at once;
// otherwise it reads at most every 20 ms (each read is a system call, and loops ask every turn).
void stop_fd_readable() noexcept;

} // namespace sluice::core
