#include "tools/launcher.hpp"

#include "core/clock.hpp"
#include "core/http.hpp"
#include "core/job.hpp"
#include "core/log.hpp"
#include "core/security.hpp"
#include "ingest/ingest.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <netinet/in.h>
#include <poll.h>
#include <spawn.h>
#include <sstream>
#include <stdexcept>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>
#include <zmq.h>

extern char** environ;

namespace sluice::tools {

namespace {

namespace fs = std::filesystem;

struct Child {
    std::string role;
    pid_t pid = -1;
    bool stopped = false; // sent SIGTERM or SIGKILL by the launcher
};

pid_t spawn(const std::string& exe, const std::vector<std::string>& args) {
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(exe.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    // Children start with the default signal state: our blocked mask and ignored SIGPIPE are ours.
    sigset_t none;
    sigemptyset(&none);
    sigset_t defaults;
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    const int rc = posix_spawn(&pid, exe.c_str(), nullptr, &attr, argv.data(), environ);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) throw std::runtime_error("cannot start " + exe + ": " + std::strerror(rc));
    return pid;
}

// A free loopback port for a child's --metrics. Another process could take it before the child
// binds it; the child then fails to start and the run reports it, which is acceptable for a
// convenience display.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = 0;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
        port = ntohs(addr.sin_port);
    }
    if (fd >= 0) ::close(fd);
    return port;
}

// The value of the first sample of `name` in a Prometheus text body, or -1.
double sample(const std::string& body, std::string_view name) {
    std::size_t at = 0;
    while ((at = body.find(name, at)) != std::string::npos) {
        const bool line_start = at == 0 || body[at - 1] == '\n';
        const std::size_t after = at + name.size();
        if (line_start && after < body.size() && (body[after] == '{' || body[after] == ' ')) {
            const std::size_t close = body[after] == '{' ? body.find('}', after) : after;
            const std::size_t space = body.find(' ', close == std::string::npos ? after : close);
            const std::size_t end = body.find('\n', space);
            double v = -1;
            if (space != std::string::npos) {
                std::from_chars(body.data() + space + 1,
                                body.data() + (end == std::string::npos ? body.size() : end), v);
            }
            return v;
        }
        at = after;
    }
    return -1;
}

double scrape(int port, std::string_view name) {
    if (port <= 0) return -1;
    const auto res = core::http::get("127.0.0.1", port, "/metrics", std::chrono::milliseconds(300));
    return res.error.empty() && res.status == 200 ? sample(res.body, name) : -1;
}

std::string with_commas(std::uint64_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
        s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

std::string describe_status(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status))
        return std::string("was killed by signal ") + strsignal(WTERMSIG(status));
    return "stopped";
}

class Topology {
public:
    Topology(const RunOptions& o, const std::string& self_dir) : m_options(o), m_bin(self_dir) {
        char tmpl[] = "/tmp/sluice-run-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr)
            throw std::runtime_error(std::string("cannot create a run directory: ") +
                                     std::strerror(errno));
        m_dir = tmpl;
        // SIGCHLD through a descriptor, like SIGINT/SIGTERM, so one poll waits for both.
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        pthread_sigmask(SIG_BLOCK, &set, nullptr);
        m_child_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    }
    ~Topology() {
        for (const auto& [pid, c] : m_children) ::kill(pid, SIGKILL);
        for (const auto& [pid, c] : m_children) ::waitpid(pid, nullptr, 0);
        std::error_code ec;
        fs::remove_all(m_dir, ec);
        if (m_child_fd >= 0) ::close(m_child_fd);
    }
    Topology(const Topology&) = delete;
    Topology& operator=(const Topology&) = delete;

    int run() {
        const RunOptions& o = m_options;
        const std::string ep = "ipc://" + m_dir + "/";
        const std::string level = "--log-level=" + o.child_log_level;
        const std::string stats = "--stats-interval=" + std::to_string(o.node.stats_interval);
        std::vector<std::string> vent = {"--bind-ingest",
                                         ep + "ingest",
                                         "--bind-workers",
                                         ep + "workers",
                                         "--bind-sink",
                                         ep + "sink",
                                         "--expect-ingest",
                                         "1",
                                         "--window",
                                         std::to_string(o.window),
                                         "--heavy",
                                         std::to_string(o.heavy),
                                         "--worker-window-memory",
                                         std::to_string(o.worker_window_memory),
                                         "--max-in-flight",
                                         std::to_string(o.max_in_flight),
                                         level,
                                         stats};
        if (!o.calibration.empty()) vent.insert(vent.end(), {"--calibration", o.calibration});
        start("ventilator", vent);

        m_sink_metrics = o.no_progress ? 0 : free_port();
        m_ingest_metrics = o.no_progress ? 0 : free_port();
        std::vector<std::string> sink = {"--bind",           ep + "results", "--ventilator",
                                         ep + "sink",        "--output",     o.output,
                                         "--log-level=info", stats};
        if (!o.output_format.empty()) sink.insert(sink.end(), {"--format", o.output_format});
        if (m_sink_metrics > 0)
            sink.push_back("--metrics=127.0.0.1:" + std::to_string(m_sink_metrics));
        start("sink", sink);
        // Workers and the ingest connect to these; a connect that finds nothing bound retries
        // after a back-off, and the first batches waited for it (docs/BENCHMARKS.md, "Start-up
        // order of sluice run").
        wait_for_sockets({"ingest", "workers", "sink", "results"});

        const unsigned workers =
            o.workers > 0 ? o.workers : std::max(1u, std::thread::hardware_concurrency());
        for (unsigned i = 0; i < workers; ++i) {
            start("worker", {"--ventilator", ep + "workers", "--sink", ep + "results", "--credits",
                             std::to_string(o.credits), "--name", "worker-" + std::to_string(i + 1),
                             level, stats});
        }

        std::vector<std::string> ingest = {"--ventilator", ep + "ingest", "--unit",
                                           o.unit,         level,         stats};
        if (o.batch_size != 0)
            ingest.insert(ingest.end(), {"--batch-size", std::to_string(o.batch_size)});
        ingest.insert(ingest.end(), {"--max-batch-size", std::to_string(o.max_batch_size)});
        if (!o.input.empty()) {
            ingest.insert(ingest.end(), {"--input", o.input});
            if (!o.input_format.empty()) ingest.insert(ingest.end(), {"--format", o.input_format});
        } else {
            const auto& g = o.generator;
            ingest.insert(ingest.end(),
                          {"--count", std::to_string(g.count), "--sensors",
                           std::to_string(g.sensors), "--seed", std::to_string(g.seed), "--rate",
                           core_number(g.rate), "--start", core_number(g.start)});
        }
        if (!o.dead_letter.empty()) ingest.insert(ingest.end(), {"--dead-letter", o.dead_letter});
        if (m_ingest_metrics > 0)
            ingest.push_back("--metrics=127.0.0.1:" + std::to_string(m_ingest_metrics));
        m_ingest_pid = start("ingest", ingest);
        return supervise();
    }

private:
    static std::string core_number(double v) {
        std::ostringstream s;
        s.precision(17);
        s << v;
        return s.str();
    }

    // Waits until the run directory holds every one of `names` (the ipc sockets the ventilator
    // and the sink bind), a child exits (supervise() then reports it), or 5 s pass. An inotify
    // watch set before each look, so that no creation is missed between the two.
    void wait_for_sockets(const std::vector<std::string>& names) {
        const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (fd < 0) return; // only the start-up order is lost
        if (::inotify_add_watch(fd, m_dir.c_str(), IN_CREATE | IN_MOVED_TO) < 0) {
            ::close(fd);
            return;
        }
        const core::TimePoint deadline = core::now() + core::seconds(5.0);
        while (true) {
            const bool all = std::all_of(names.begin(), names.end(), [&](const std::string& n) {
                struct stat st {};
                return ::stat((m_dir + "/" + n).c_str(), &st) == 0;
            });
            const auto left = std::chrono::duration_cast<core::Millis>(deadline - core::now());
            if (all || left.count() <= 0) break;
            pollfd fds[2] = {{fd, POLLIN, 0}, {m_child_fd, POLLIN, 0}};
            if (::poll(fds, 2, static_cast<int>(left.count()) + 1) > 0 && fds[1].revents != 0)
                break; // a child ended; SIGCHLD stays pending on m_child_fd for supervise()
            char events[4096];
            while (::read(fd, events, sizeof events) > 0) {
            }
        }
        ::close(fd);
    }

    pid_t start(const std::string& role, const std::vector<std::string>& args) {
        const std::string exe = m_bin + "/sluice-" + role;
        const pid_t pid = spawn(exe, args);
        m_children[pid] = Child{role, pid};
        return pid;
    }

    // Waits for the job: success is the sink's exit 0 (the whole output is written) with no
    // failure of the ventilator or ingest before it. A failure of one of those three ends the run
    // and stays its result, even when the sink then exits 0 (it wrote what the job held, which is
    // not the whole input); a worker's failure does not (the others take over its work).
    int supervise() {
        int result = -1;
        bool stopping = false;
        core::TimePoint deadline = core::TimePoint::max();
        core::Ticker progress(m_tty ? 0.5 : 10.0);
        while (!m_children.empty()) {
            if (m_sink_metrics > 0 && result < 0 && progress.due()) show_progress();
            pollfd fds[2] = {{m_child_fd, POLLIN, 0}, {core::stop_fd(), POLLIN, 0}};
            ::poll(fds, 2, 200);
            signalfd_siginfo info;
            while (::read(m_child_fd, &info, sizeof info) > 0) {
            }
            if (!stopping && core::stop_requested()) {
                // Stop the input: the ingest ends its stream, and the job drains and ends normally.
                core::log_info("stopping: ending the input and draining the job");
                stopping = true;
                if (m_children.contains(m_ingest_pid)) ::kill(m_ingest_pid, SIGTERM);
                deadline = core::now() + core::seconds(30.0);
            }
            int status = 0;
            pid_t pid = 0;
            while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
                const auto it = m_children.find(pid);
                if (it == m_children.end()) continue;
                const std::string role = it->second.role;
                const bool stopped = it->second.stopped;
                // A worker stopped after the job may not have set up its signal handling yet.
                const bool stopped_by_us =
                    stopped && WIFSIGNALED(status) &&
                    (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGKILL);
                m_children.erase(it);
                const bool ok = (WIFEXITED(status) && WEXITSTATUS(status) == 0) || stopped_by_us;
                if (role == "sink") {
                    if (result < 0 || !ok) result = ok ? 0 : 1;
                    // Everything is written; the others finish on their own within a bound.
                    if (deadline == core::TimePoint::max())
                        deadline = core::now() + core::seconds(10.0);
                }
                if (role == "ventilator" && ok) {
                    // The job is over (the ventilator ends it only once every reading is
                    // written) and no worker is needed any more. A worker that started after
                    // the job's end was announced would wait for the next job: stop them all.
                    for (auto& [p, c] : m_children) {
                        if (c.role != "worker") continue;
                        c.stopped = true;
                        ::kill(p, SIGTERM);
                    }
                }
                if (!ok && stopped && result == 1) {
                    // Stopped because the run had failed already: a consequence, not news.
                    core::log_debug("sluice-", role, " (pid ", pid, ") ", describe_status(status));
                } else if (!ok) {
                    core::log_error("sluice-", role, " (pid ", pid, ") ", describe_status(status));
                    if (role != "worker" && result != 0) {
                        result = 1;
                        if (role == "sink") {
                            // Nothing is left to finish: an output that cannot be opened or
                            // written, a reader of stdout that went away.
                            kill_all(SIGKILL);
                        } else if (role == "ingest") {
                            // The ventilator ends the job with what it holds, as on Ctrl-C: the
                            // sink writes it in order and exits, then the workers are stopped.
                            // (A sink stopped now would leave the ventilator waiting for it.)
                            kill_all(SIGTERM, "ventilator");
                        } else {
                            // No ventilator: nothing ends the job or takes the ingest's input.
                            // The ingest, which could only wait, is killed; the sink writes what
                            // is in order and exits, and the workers leave.
                            kill_all(SIGKILL, "ingest");
                            kill_all(SIGTERM, "sink");
                            kill_all(SIGTERM, "worker");
                        }
                        deadline = std::min(deadline, core::now() + core::seconds(5.0));
                    }
                }
            }
            if (core::now() > deadline) {
                for (const auto& [p, c] : m_children)
                    core::log_warn("sluice-", c.role, " (pid ", p, ") did not exit; killing it");
                break;
            }
        }
        if (m_tty && m_shown) std::cerr << "\r\033[K" << std::flush; // leave the terminal clean
        return result < 0 ? 1 : result;
    }

    // Records written, rate, and for a file or the generator the share done and the time left.
    void show_progress() {
        const double written = scrape(m_sink_metrics, "sluice_records_total");
        if (written < 0) return;
        const double secs = core::elapsed_seconds(m_started);
        const double rate = written / std::max(secs, 1e-9);
        double done = -1;
        if (m_options.input.empty()) {
            done = written /
                   static_cast<double>(std::max<std::uint64_t>(m_options.generator.count, 1));
        } else {
            const double read = scrape(m_ingest_metrics, "sluice_input_bytes_read");
            const double size = scrape(m_ingest_metrics, "sluice_input_bytes");
            if (read >= 0 && size > 0) done = read / size;
        }
        std::ostringstream line;
        line << with_commas(static_cast<std::uint64_t>(written)) << " records, "
             << with_commas(static_cast<std::uint64_t>(rate)) << "/s";
        if (done >= 0) {
            done = std::min(done, 1.0);
            const auto left = static_cast<long>(done > 0 ? secs * (1 - done) / done : 0);
            line << ", " << static_cast<int>(done * 100) << "%, " << left / 60 << ":"
                 << (left % 60 < 10 ? "0" : "") << left % 60 << " left";
        }
        if (m_tty) {
            std::string bar;
            if (done >= 0) {
                const int filled = static_cast<int>(done * 30);
                bar = "[" + std::string(static_cast<std::size_t>(filled), '#') +
                      std::string(static_cast<std::size_t>(30 - filled), '.') + "] ";
            }
            std::cerr << "\r\033[K" << bar << line.str() << std::flush;
            m_shown = true;
        } else {
            core::log_info("progress: ", line.str());
        }
    }

    // Signals every child, or every child of one role.
    void kill_all(int signal, std::string_view role = {}) {
        for (auto& [pid, c] : m_children) {
            if (!role.empty() && c.role != role) continue;
            c.stopped = true;
            ::kill(pid, signal);
        }
    }

    const RunOptions& m_options;
    std::string m_bin;
    std::string m_dir;
    int m_child_fd = -1;
    pid_t m_ingest_pid = -1;
    int m_sink_metrics = 0;
    int m_ingest_metrics = 0;
    bool m_tty = ::isatty(STDERR_FILENO) == 1;
    bool m_shown = false;
    core::TimePoint m_started = core::now();
    std::map<pid_t, Child> m_children;
};

std::string self_directory() {
    std::error_code ec;
    const auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string(".") : exe.parent_path().string();
}

// An input that cannot be read is a usage error found before any process starts, like a
// missing --calibration file (the ingest would otherwise fail after the topology is up). The open
// does not block on a FIFO and reads nothing.
CLI::Validator readable_input() {
    return CLI::Validator(
        [](const std::string& path) -> std::string {
            if (path == "-") return {};
            const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
            if (fd < 0) return "cannot open '" + path + "': " + std::strerror(errno);
            struct stat st {};
            const bool dir = ::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode);
            ::close(fd);
            return dir ? "'" + path + "' is a directory" : std::string{};
        },
        "FILE|-");
}

void add_run_options(CLI::App& run, RunOptions& o) {
    using core::add_option;
    add_option(run, "--input", o.input,
               "CSV or JSON Lines file, or - for stdin (default: the generator)")
        ->check(readable_input())
        ->group("Input");
    add_option(run, "--input-format", o.input_format, "csv or jsonl (default: from the extension)")
        ->check(CLI::IsMember({"csv", "jsonl"}))
        ->group("Input");
    add_option(run, "--unit", o.unit, "unit of readings that name none")->group("Input");
    add_option(run, "--dead-letter", o.dead_letter, "write bad input here as JSON Lines")
        ->group("Input");
    add_option(run, "--count", o.generator.count, "generator: readings to produce")
        ->group("Generator");
    add_option(run, "--sensors", o.generator.sensors, "generator: number of sensors")
        ->check(CLI::Range(1u, 1u << 30))
        ->group("Generator");
    add_option(run, "--seed", o.generator.seed, "generator: random seed")->group("Generator");
    add_option(run, "--rate", o.generator.rate,
               "generator: readings per second (0 = as fast as possible)")
        ->check(CLI::NonNegativeNumber)
        ->group("Generator");
    add_option(run, "--start", o.generator.start, "generator: timestamp of the first reading")
        ->group("Generator");
    add_option(run, "--calibration", o.calibration, "CSV file sensorId,offset,scale")
        ->check(CLI::ExistingFile)
        ->group("Job");
    add_option(run, "--window", o.window, "values per rolling window W")
        ->check(CLI::Range(1u, core::k_max_window))
        ->group("Job");
    add_option(run, "--heavy", o.heavy, "iterations K of the heavy transform (0 = off)")
        ->group("Job");
    add_option(run, "--worker-window-memory", o.worker_window_memory,
               "MiB of windows a worker keeps between tasks; past it, it drops them and is sent "
               "whole histories (0 = no limit)")
        ->group("Job");
    add_option(run, "--output", o.output, "output file, or - for stdout")->group("Output");
    add_option(run, "--output-format", o.output_format,
               "jsonl, csv or msgpack (default: from the extension)")
        ->check(CLI::IsMember({"jsonl", "csv", "msgpack"}))
        ->group("Output");
    add_option(run, "--workers", o.workers, "worker processes (default: the number of cores)")
        ->group("Topology");
    add_option(run, "--batch-size", o.batch_size,
               "readings per batch (default: 2000 from a regular file, else 1000; more only with "
               "--max-batch-size)")
        ->check(CLI::Range(1u, 1000000u))
        ->default_str("")
        ->group("Topology");
    add_option(run, "--max-batch-size", o.max_batch_size,
               "readings a batch may grow to while the pipeline is behind (0 = --batch-size: no "
               "growth; e.g. 4000 for throughput at saturation)")
        ->check(CLI::Range(0u, 4000000u))
        ->group("Topology");
    add_option(run, "--credits", o.credits, "batches each worker holds at once")
        ->check(CLI::Range(1u, 10000u))
        ->group("Topology");
    add_option(run, "--max-in-flight", o.max_in_flight, "batches held between ingest and output")
        ->check(CLI::Range(1u, 1000000u))
        ->group("Topology");
    core::add_flag(run, "--no-progress", o.no_progress,
                   "no progress display (a bar on a terminal, else a line every 10 s)")
        ->group("Operating");
    add_option(run, "--child-log-level", o.child_log_level,
               "log level of the ventilator, workers and ingest")
        ->check(CLI::IsMember({"error", "warn", "info", "debug"}))
        ->group("Operating");
    o.node.stats_interval = 0;
    core::add_node_options(run, o.node);
}

} // namespace

int run_job(const RunOptions& options, const std::string& self_dir) {
    (void)ingest::max_batch_readings(options.batch_size, options.max_batch_size);
    Topology t(options, self_dir);
    return t.run();
}

int keygen(const KeygenOptions& o) {
    const auto [public_key, secret_key] = core::curve_keypair();
    const fs::path dir(o.dir);
    fs::create_directories(dir);
    const fs::path pub = dir / (o.name + ".public");
    const fs::path sec = dir / (o.name + ".secret");
    {
        std::ofstream out(sec, std::ios::trunc);
        if (!out) throw std::runtime_error("cannot write '" + sec.string() + "'");
        fs::permissions(sec, fs::perms::owner_read | fs::perms::owner_write,
                        fs::perm_options::replace);
        out << secret_key << '\n';
    }
    std::ofstream out(pub, std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write '" + pub.string() + "'");
    out << public_key << '\n';
    std::cout << "wrote " << pub.string() << " and " << sec.string() << " (keep it private)\n";
    return 0;
}

void exit_at_once(int) {
    _exit(0);
}

// A viewer holds nothing to finish, so SIGINT/SIGTERM end it at once with status 0 (SPEC: a
// stopped node exits 0), even in the middle of a request to a slow or unreachable ventilator,
// where waiting for the stop signal between requests would take up to the request's timeouts.
void quit_on_stop_signal() {
    struct sigaction action {};
    action.sa_handler = exit_at_once;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_UNBLOCK, &set, nullptr); // one already pending is delivered now
}

int status(const StatusOptions& o) {
    quit_on_stop_signal();
    std::string endpoint = o.endpoint;
    if (endpoint.starts_with("http://")) endpoint.erase(0, 7);
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    const auto colon = endpoint.rfind(':');
    int port = 0;
    if (colon != std::string::npos) {
        const char* last = endpoint.data() + endpoint.size();
        const auto [end, ec] = std::from_chars(endpoint.data() + colon + 1, last, port);
        if (ec != std::errc{} || end != last) port = 0;
    }
    if (colon == 0 || port <= 0 || port > 65535) {
        throw core::UsageError("ENDPOINT '" + o.endpoint +
                               "' is not HOST:PORT (the ventilator's --metrics address)");
    }
    const std::string host = endpoint.substr(0, colon);
    const bool tty = !o.once && ::isatty(STDOUT_FILENO) == 1;
    while (true) {
        const auto res = core::http::get(host, port, "/status", std::chrono::seconds(2));
        if (!res.error.empty()) {
            throw std::runtime_error("no answer from " + endpoint + "/status: " + res.error +
                                     " (is the ventilator running with --metrics " + endpoint +
                                     "?)");
        }
        if (res.status != 200) {
            throw std::runtime_error(endpoint + "/status answered " + std::to_string(res.status) +
                                     (res.body.empty() ? "" : ": " + res.body));
        }
        if (tty) {
            // Home, clear, then the table: one redraw per interval.
            std::cout << "\033[H\033[2J"
                      << "sluice status " << endpoint << "  (every " << o.interval
                      << " s; Ctrl-C quits)\n\n";
        }
        std::cout << res.body << (tty || o.once ? "" : "\n") << std::flush;
        if (o.once) return 0;
        std::this_thread::sleep_for(std::chrono::duration<double>(o.interval)); // a signal ends it
    }
}

int launcher_main(int argc, char** argv) {
    auto app = core::make_app("sluice", "Sluice: a stream processor for sensor readings.");
    app->require_subcommand(1);
    RunOptions run_options;
    auto* run = app->add_subcommand(
        "run", "run one job on this machine: ingest, ventilator, workers and sink");
    add_run_options(*run, run_options);
    KeygenOptions keygen_options;
    auto* kg = app->add_subcommand("keygen", "make a CURVE key pair NAME.public / NAME.secret");
    core::add_option(*kg, "--name", keygen_options.name, "file name stem of the key pair");
    core::add_option(*kg, "--dir", keygen_options.dir, "directory to write the keys to");
    StatusOptions status_options;
    auto* st = app->add_subcommand(
        "status", "show a running topology from its ventilator: workers, streams, sink position");
    st->add_option("ENDPOINT", status_options.endpoint,
                   "HOST:PORT the ventilator serves --metrics on")
        ->required();
    core::add_flag(*st, "--once", status_options.once, "print the table once and exit");
    core::add_option(*st, "--interval", status_options.interval, "seconds between redraws")
        ->check(CLI::Range(0.1, 3600.0));
    // CLI11 reports a missing subcommand before an unknown flag; name the flag, as every node does.
    if (argc > 1 && argv[1][0] == '-' && std::string_view(argv[1]) != "--help" &&
        std::string_view(argv[1]) != "-h" && std::string_view(argv[1]) != "--version") {
        std::cerr << "sluice: error: unknown option " << argv[1]
                  << " (expected a subcommand: run, status or keygen; see --help)\n";
        return 2;
    }
    return core::run_node(*app, argc, argv, &run_options.node, [&] {
        if (kg->parsed()) return keygen(keygen_options);
        if (st->parsed()) return status(status_options);
        return run_job(run_options, self_directory());
    });
}

} // namespace sluice::tools
