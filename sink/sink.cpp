#include "sink/sink.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/output_format.hpp"
#include "core/protocol.hpp"
#include "core/security.hpp"
#include "core/sockets.hpp"
#include "sink/file_sync.hpp"
#include "sink/reorder.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

namespace sluice::sink {

using core::Header;
using core::MsgType;
using core::TimePoint;

void add_options(CLI::App& app, Options& o) {
    using core::add_option;
    add_option(app, "--bind", o.bind, "endpoint where workers push results")->group("Endpoints");
    add_option(app, "--ventilator", o.ventilator, "the ventilator's sink endpoint")
        ->group("Endpoints");
    add_option(app, "--output", o.output, "output file, or - for stdout")->group("Output");
    add_option(app, "--format", o.format,
               "jsonl, csv or msgpack (default: from the file's extension, else jsonl)")
        ->check(CLI::IsMember({"jsonl", "csv", "msgpack"}))
        ->group("Output");
    add_option(app, "--fsync", o.fsync, "fsync a file output before reporting the job finished")
        ->group("Output");
    add_option(app, "--max-buffered", o.max_buffered, "batches held for reordering")
        ->check(CLI::Range(1u, 10000000u))
        ->group("Flow control");
    add_option(app, "--hwm", o.hwm, "receive high-water mark of the results socket (messages)")
        ->check(CLI::Range(1, 1000000))
        ->group("Flow control");
    core::add_curve_options(app, o.node.curve);
    core::add_metrics_option(app, o.node);
    core::add_node_options(app, o.node);
}

namespace {

// Writes whole records: the buffer is only ever flushed between records, so a reader of the file
// (or the file after a crash) sees whole records only.
class Output {
public:
    Output(const std::string& path, bool fsync) : m_path(path), m_fsync(fsync) {
        if (path == "-") {
            m_fd = STDOUT_FILENO;
            m_name = "stdout";
            return;
        }
        m_fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (m_fd < 0)
            throw std::runtime_error("cannot open '" + path + "': " + std::strerror(errno));
        m_name = "'" + path + "'";
        m_owned = true;
        struct stat st {};
        if (fsync && ::fstat(m_fd, &st) == 0 && S_ISREG(st.st_mode))
            m_sync.emplace(m_fd, k_sync_bytes);
    }
    ~Output() {
        m_sync.reset(); // its thread uses the descriptor
        if (m_owned) ::close(m_fd);
    }
    Output(const Output&) = delete;
    Output& operator=(const Output&) = delete;

    // Small results gather in the buffer; a large one (a whole batch of JSON is ~300 KB) goes
    // out from the message itself, together with what the buffer holds, without being copied.
    void append(std::string_view bytes) {
        if (bytes.size() >= k_direct_bytes) {
            write_all(bytes);
            return;
        }
        m_buffer.append(bytes);
        if (m_buffer.size() >= k_flush_bytes) flush();
    }

    void flush() { write_all({}); }

    void finish() {
        flush();
        if (m_sync) {
            const int error = m_sync->stop();
            m_sync.reset();
            if (error != 0)
                throw std::runtime_error("cannot fsync " + m_name + ": " + std::strerror(error));
        }
        // EINVAL/EROFS: a device or FIFO that has nothing to synchronise (--output /dev/null).
        if (m_owned && m_fsync && ::fsync(m_fd) != 0 && errno != EINVAL && errno != EROFS) {
            throw std::runtime_error("cannot fsync " + m_name + ": " + std::strerror(errno));
        }
    }

    [[nodiscard]] std::uint64_t bytes() const noexcept { return m_bytes; }
    [[nodiscard]] const std::string& name() const noexcept { return m_name; }

private:
    // Writes the buffer, then `more`, whole (retrying short writes), and empties the buffer.
    void write_all(std::string_view more) {
        iovec iov[2] = {{m_buffer.data(), m_buffer.size()},
                        {const_cast<char*>(more.data()), more.size()}};
        iovec* next = iov;
        int count = 2;
        const std::size_t total = m_buffer.size() + more.size();
        while (count > 0) {
            if (next->iov_len == 0) {
                ++next;
                --count;
                continue;
            }
            const ssize_t n = ::writev(m_fd, next, count);
            if (n < 0) {
                if (errno == EINTR) continue;
                throw std::runtime_error("cannot write to " + m_name + ": " + std::strerror(errno));
            }
            auto done = static_cast<std::size_t>(n);
            while (count > 0 && done >= next->iov_len) {
                done -= next->iov_len;
                ++next;
                --count;
            }
            if (count > 0) {
                next->iov_base = static_cast<char*>(next->iov_base) + done;
                next->iov_len -= done;
            }
        }
        m_bytes += total;
        m_buffer.clear();
        if (m_sync) m_sync->written(m_bytes);
    }

    static constexpr std::size_t k_flush_bytes = 1 << 20;
    static constexpr std::size_t k_direct_bytes = 64 * 1024;
    // Data made durable in steps of this while the job runs (BackgroundSync).
    static constexpr std::uint64_t k_sync_bytes = 32 << 20;
    std::string m_path;
    std::string m_name;
    int m_fd = -1;
    bool m_owned = false;
    bool m_fsync = true;
    std::string m_buffer;
    std::uint64_t m_bytes = 0;
    std::optional<BackgroundSync> m_sync; // a regular file that will be fsynced
};

class Sink {
public:
    explicit Sink(const Options& o)
        : m_options(o), m_format(o.format.empty() ? core::output_format_for_path(o.output)
                                                  : *core::output_format_from_name(o.format)),
          m_output(o.output, o.fsync),
          m_results(core::make_socket(zmq::socket_type::pull, core::Role::binding, 1000, o.hwm)),
          m_vent(core::make_socket(zmq::socket_type::dealer, core::Role::connecting, 1000, 1000)),
          m_reorder(o.max_buffered) {
        const auto bound = core::bind(m_results, o.bind, "--bind");
        core::connect(m_vent, o.ventilator, "--ventilator");
        core::log_info("results on ", bound, ", ventilator at ", o.ventilator, ", writing ",
                       core::output_format_name(m_format), " to ", m_output.name());
    }

    int run() {
        core::Ticker stats(m_options.node.stats_interval);
        TimePoint next_hello{};
        TimePoint next_commit{};
        m_started = core::now();
        while (true) {
            const TimePoint t = core::now();
            if (core::stop_requested()) {
                core::log_info("stopping: writing what is in order and exiting");
                break;
            }
            if (m_job_id == 0 && t >= next_hello) {
                const auto sent = core::send(
                    m_vent, nullptr,
                    core::encode_header(Header{MsgType::sink_hello, 0, 0, 0,
                                               static_cast<std::uint64_t>(m_format), "sink"}));
                // Not connected yet (would block): try again soon rather than at the next second.
                next_hello = t + core::seconds(sent == core::Sent::ok ? 1.0 : 0.02);
            }
            std::vector<zmq::pollitem_t> items = {
                {m_results.handle(), 0, ZMQ_POLLIN, 0},
                {m_vent.handle(), 0, ZMQ_POLLIN, 0},
                {nullptr, core::stop_fd(), ZMQ_POLLIN, 0},
            };
            core::poll(items, core::Millis(m_job_id == 0 ? 20 : 100));
            if (items[1].revents) {
                for (int i = 0; i < 64 && receive_control(); ++i) {
                }
            }
            bool wrote = false;
            if (items[0].revents) {
                for (int i = 0; i < 256; ++i) {
                    const auto r = receive_result();
                    if (!r) break;
                    wrote |= *r;
                }
            }
            if (wrote) m_output.flush();
            if (m_job_id != 0 && (wrote || t >= next_commit)) {
                commit(MsgType::sink_commit);
                next_commit = t + core::seconds(0.5);
            }
            if (m_end_known && m_reorder.next() == m_total_batches) {
                finish();
                return 0;
            }
            m_held_gauge.set(static_cast<double>(m_reorder.held()));
            if (stats.due(t)) log_status();
        }
        m_output.finish();
        log_summary();
        return 0;
    }

private:
    void say(const Header& h) { (void)core::send(m_vent, nullptr, core::encode_header(h)); }

    void commit(MsgType type) {
        say(Header{type, m_job_id, m_reorder.next(), m_records.value(), 0, {}});
    }

    bool receive_control() {
        const auto got = core::receive(m_vent, m_frames, core::k_max_frames);
        if (got == core::Received::nothing) return false;
        std::string error;
        if (got == core::Received::oversized || m_frames.size() != 1) {
            malformed("ventilator", "wrong number of frames");
            return true;
        }
        const auto h = core::decode_header(
            std::string_view(m_frames[0].data<char>(), m_frames[0].size()), error);
        if (!h) {
            malformed("ventilator", error);
            return true;
        }
        if (h->type == MsgType::job_start) {
            if (m_job_id != 0 && h->id != m_job_id) {
                throw std::runtime_error("the ventilator started job " + std::to_string(h->id) +
                                         " while job " + std::to_string(m_job_id) +
                                         " was being written; restart the sink");
            }
            if (m_job_id == 0) {
                core::log_info("writing job ", h->id);
                // The heavy column exists only in jobs with --heavy, which only the ventilator
                // knows.
                if (m_format == core::OutputFormat::csv)
                    m_output.append(core::csv_header(h->extra != 0));
            }
            m_job_id = h->id;
            return true;
        }
        if (h->id != m_job_id) return true;
        if (h->type == MsgType::sink_end) {
            if (!m_end_known)
                core::log_info("job has ", h->seq, " batches, ", h->count, " readings");
            m_end_known = true;
            m_total_batches = h->seq;
            m_total_records = h->count;
        } else if (h->type == MsgType::finish_ack) {
            m_finish_acked = true;
        } else if (h->type != MsgType::heartbeat) {
            malformed("ventilator", "unexpected " + std::string(core::msg_type_name(h->type)));
        }
        return true;
    }

    // Returns nullopt when nothing was waiting, else whether anything was written.
    std::optional<bool> receive_result() {
        const auto got = core::receive(m_results, m_frames, core::k_max_frames);
        if (got == core::Received::nothing) return std::nullopt;
        if (got == core::Received::oversized || m_frames.empty()) {
            malformed("results", "wrong number of frames");
            return false;
        }
        // The header first, so that a peer of another protocol version is named as such.
        std::string error;
        const auto h = core::decode_header(
            std::string_view(m_frames[0].data<char>(), m_frames[0].size()), error);
        if (!h) {
            malformed("results", error);
            return false;
        }
        if (m_frames.size() != 2) {
            malformed("results", "wrong number of frames");
            return false;
        }
        if (h->type != MsgType::result) {
            malformed("results", "unexpected " + std::string(core::msg_type_name(h->type)));
            return false;
        }
        if (m_job_id == 0 || h->id != m_job_id || h->name != core::output_format_name(m_format)) {
            m_foreign.inc();
            return false;
        }
        switch (m_reorder.offer(Result{h->seq, h->count, h->extra, std::move(m_frames[1])})) {
        case ReorderBuffer::Offer::accepted:
            break;
        case ReorderBuffer::Offer::duplicate:
            m_duplicates.inc();
            return false;
        case ReorderBuffer::Offer::too_far_ahead:
            m_too_far.inc();
            return false;
        }
        bool wrote = false;
        while (auto r = m_reorder.pop()) {
            m_output.append(std::string_view(r->payload.data<char>(), r->payload.size()));
            m_records.inc(r->records);
            if (r->origin_us != 0) {
                const double latency =
                    static_cast<double>(core::wall_micros() -
                                        std::min(r->origin_us, core::wall_micros())) *
                    1e-6;
                m_latency.observe(latency, r->records);
                m_percentiles.record(static_cast<std::uint64_t>(latency * 1e6), r->records);
            }
            wrote = true;
        }
        return wrote;
    }

    void finish() {
        m_output.finish();
        // The ventilator must learn that the job is written before anyone exits; retry until it
        // acknowledges, within a bound (it may already be gone, and the output is complete anyway).
        const TimePoint deadline = core::now() + core::seconds(5.0);
        while (!m_finish_acked && core::now() < deadline) {
            commit(MsgType::sink_finished);
            std::vector<zmq::pollitem_t> items = {{m_vent.handle(), 0, ZMQ_POLLIN, 0}};
            core::poll(items, core::Millis(200));
            while (receive_control()) {
            }
        }
        if (!m_finish_acked)
            core::log_warn("the ventilator did not acknowledge the end of the job");
        log_summary();
    }

    void malformed(std::string_view where, const std::string& what) {
        m_malformed.inc();
        if (m_malformed.value() <= 10 || m_malformed.value() % 1000 == 0) {
            core::log_warn("dropped a malformed message on the ", where, " socket: ", what, " (",
                           m_malformed.value(), " so far)");
        }
    }

    void log_status() const {
        const double secs = core::elapsed_seconds(m_started);
        core::log_info("status: written ", m_records.value(), " readings (", m_reorder.next(),
                       " batches, ",
                       static_cast<std::uint64_t>(static_cast<double>(m_records.value()) /
                                                  std::max(secs, 1e-9)),
                       "/s), held ", m_reorder.held(), ", duplicates ", m_duplicates.value(),
                       ", malformed ", m_malformed.value());
    }

    void log_summary() const {
        const double secs = core::elapsed_seconds(m_started);
        core::log_info("summary: wrote ", m_records.value(), " readings in ", m_reorder.next(),
                       " batches (", m_output.bytes(), " bytes) to ", m_output.name(), " in ", secs,
                       " s, ",
                       static_cast<std::uint64_t>(static_cast<double>(m_records.value()) /
                                                  std::max(secs, 1e-9)),
                       " readings/s; duplicates dropped ", m_duplicates.value(),
                       ", beyond the reorder window ", m_too_far.value(), ", foreign results ",
                       m_foreign.value(), ", malformed messages ", m_malformed.value(),
                       core::curve_enabled()
                           ? ", refused CURVE clients " + std::to_string(core::curve_refused())
                           : "");
        if (m_percentiles.count() > 0) {
            core::log_info("latency from ingest to written: p50 ", m_percentiles.at(0.5) / 1000.0,
                           " ms, p99 ", m_percentiles.at(0.99) / 1000.0, " ms, p99.9 ",
                           m_percentiles.at(0.999) / 1000.0, " ms, max ",
                           m_percentiles.at(1.0) / 1000.0, " ms");
        }
    }

    const Options& m_options;
    core::OutputFormat m_format;
    Output m_output;
    zmq::socket_t m_results;
    zmq::socket_t m_vent;
    ReorderBuffer m_reorder;
    std::uint64_t m_job_id = 0;
    bool m_end_known = false;
    bool m_finish_acked = false;
    std::uint64_t m_total_batches = 0;
    std::uint64_t m_total_records = 0;
    core::Counter& m_records = core::records_counter();
    core::Counter& m_duplicates =
        core::metrics().counter("sluice_duplicates_dropped_total", "results dropped as duplicates");
    core::Counter& m_too_far =
        core::metrics().counter("sluice_results_beyond_window_total",
                                "results dropped for lying beyond the reorder window");
    core::Counter& m_foreign =
        core::metrics().counter("sluice_foreign_results_total", "results of another job or format");
    core::Counter& m_malformed = core::malformed_counter();
    core::Gauge& m_held_gauge =
        core::metrics().gauge("sluice_reorder_buffered_batches", "batches waiting for their turn");
    core::Percentiles m_percentiles;
    core::Histogram& m_latency = core::metrics().histogram(
        "sluice_latency_seconds",
        "time from a batch's first reading at the ingest to its write (per record)",
        {0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30});
    TimePoint m_started{};
    core::Frames m_frames;
};

} // namespace

int run(const Options& options) {
    Sink s(options);
    return s.run();
}

int sink_main(int argc, char** argv) {
    Options options;
    auto app = core::make_app(
        "sluice-sink", "Sluice sink: restores the order of results, drops duplicates and writes "
                       "JSON Lines, CSV or msgpack to a file or stdout.");
    add_options(*app, options);
    return core::run_node(*app, argc, argv, &options.node, [&] { return run(options); });
}

} // namespace sluice::sink
