#include "core/options.hpp"

#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/process_id.hpp"

#include <cctype>
#include <chrono>
#include <csignal>
#include <iostream>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <sys/signalfd.h>
#include <unistd.h>

namespace sluice::core {

namespace {

int g_stop_fd = -1;
bool g_stop_seen = false;
// Reading the signalfd is a system call, and every node's loop asks stop_requested() once per
// turn: it reads when poll() saw the descriptor readable, and otherwise at most every 20 ms.
bool g_stop_readable = false;
std::chrono::steady_clock::time_point g_stop_read{};

// Blocking the signals before the ZeroMQ context exists makes its I/O threads inherit the mask, so
// SIGINT/SIGTERM reach us only through the signalfd: no EINTR anywhere, no handler races.
void install_stop_signal() {
    if (g_stop_fd >= 0) return;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    g_stop_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    std::signal(SIGPIPE, SIG_IGN); // a closed stdout is an error we report, not a silent death
}

// Batches are buffers of 30 KB to a few MB, allocated and freed at a steady rate. glibc's defaults
// give them back to the kernel as they are freed (large blocks are mmap()ed, and the top of the
// heap is trimmed once 128 KB-2x the largest block is free), so each new batch's buffer faults its
// pages in again: ~36,000 page faults in a 2 M-reading job, 45 % of its CPU time in the kernel on a
// VM where a fault is expensive. Serving blocks below 32 MiB from the heap and keeping up to
// 64 MiB of freed heap makes the next batch reuse warm pages; memory stays bounded by the peak of
// what is in flight (docs/BENCHMARKS.md, "Page faults").
void keep_freed_memory() {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
}

void print_error(const CLI::App& app, std::string_view what) {
    std::cerr << app.get_name() << ": error: " << what << '\n';
}

} // namespace

std::string env_name(std::string_view flag) {
    while (!flag.empty() && flag.front() == '-') flag.remove_prefix(1);
    std::string out = "SLUICE_";
    for (const char c : flag)
        out += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

CLI::Option* add_flag(CLI::App& app, const std::string& flag, bool& field,
                      const std::string& help) {
    return app.add_flag(flag, field, help)->envname(env_name(flag));
}

void add_node_options(CLI::App& app, NodeOptions& options) {
    add_option(app, "--stats-interval", options.stats_interval,
               "seconds between one-line status reports on stderr (0 = off)")
        ->check(CLI::NonNegativeNumber)
        ->group("Operating");
    add_option(app, "--log-level", options.log_level, "error, warn, info or debug")
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
        ->group("Operating");
}

void add_metrics_option(CLI::App& app, NodeOptions& options) {
    add_option(app, "--metrics", options.metrics,
               "serve Prometheus metrics at http://HOST:PORT/metrics")
        ->group("Operating");
}

std::uint64_t wall_micros() noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

std::unique_ptr<CLI::App> make_app(const std::string& program, const std::string& description) {
    auto app = std::make_unique<CLI::App>(description, program);
    app->set_version_flag("--version", program + " " SLUICE_VERSION);
    app->set_config("--config", "", "read flags from a TOML file (keys are the long flag names)");
    app->get_formatter()->column_width(34);
    return app;
}

int run_node(CLI::App& app, int argc, char** argv, const NodeOptions* node,
             const std::function<int()>& body) {
    set_log_program(app.get_name());
    keep_freed_memory();
    cache_process_id();
    install_stop_signal();
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        print_error(app, std::string(e.what()) + " (see --help)");
        return 2;
    }
    if (node != nullptr && !set_log_level(node->log_level)) {
        print_error(app, "--log-level: unknown level '" + node->log_level + "'");
        return 2;
    }
    // The ZAP handler thread must be gone before the ZeroMQ context is destroyed at exit.
    struct SecurityGuard {
        ~SecurityGuard() { stop_security(); }
    } guard;
    try {
        std::unique_ptr<MetricsServer> metrics_server;
        if (node != nullptr) {
            configure_security(node->curve);
            if (!node->metrics.empty()) {
                std::string role = app.get_name();
                if (role.starts_with("sluice-")) role.erase(0, 7);
                metrics_server = std::make_unique<MetricsServer>(node->metrics, role);
                log_info("metrics on http://", node->metrics.substr(0, node->metrics.rfind(':')),
                         ":", metrics_server->port(), "/metrics");
            }
        }
        return body();
    } catch (const UsageError& e) {
        print_error(app, e.what());
        return 2;
    } catch (const std::exception& e) {
        print_error(app, e.what());
        return 1;
    }
}

int stop_fd() noexcept {
    return g_stop_fd;
}

void stop_fd_readable() noexcept {
    g_stop_readable = true;
}

bool stop_requested() noexcept {
    if (g_stop_seen || g_stop_fd < 0) return g_stop_seen;
    const auto now = std::chrono::steady_clock::now();
    if (!g_stop_readable && now - g_stop_read < std::chrono::milliseconds(20)) return false;
    g_stop_readable = false;
    g_stop_read = now;
    signalfd_siginfo info;
    while (::read(g_stop_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info))
        g_stop_seen = true;
    return g_stop_seen;
}

} // namespace sluice::core
