#include "ingest/ingest.hpp"

#include "core/codec.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/protocol.hpp"
#include "core/sockets.hpp"
#include "ingest/tcp_listener.hpp"

#include <deque>
#include <random>

namespace sluice::ingest {

using core::Header;
using core::MsgType;
using core::TimePoint;

void add_options(CLI::App& app, Options& o) {
    using core::add_option;
    add_option(app, "--ventilator", o.ventilator, "the ventilator's ingest endpoint")
        ->group("Endpoints");
    add_option(app, "--input", o.input,
               "CSV or JSON Lines file, or - for stdin (default: the generator)")
        ->group("Source");
    add_option(app, "--listen", o.listen,
               "accept sensors on tcp://HOST:PORT or tcp://*:PORT (port 0: any free port)")
        ->group("Source");
    add_option(app, "--max-connections", o.max_connections,
               "listener: sensor connections at once; more are closed at once")
        ->check(CLI::Range(1u, 1000000u))
        ->group("Source");
    add_option(app, "--idle-timeout", o.idle_timeout,
               "listener: seconds without data before a connection is closed (0 = never)")
        ->check(CLI::NonNegativeNumber)
        ->group("Source");
    add_option(app, "--format", o.format,
               "csv or jsonl (default: from the file's extension, else csv; jsonl for --listen)")
        ->check(CLI::IsMember({"csv", "jsonl"}))
        ->group("Source");
    add_option(app, "--unit", o.unit, "unit of readings that name none")->group("Source");
    add_option(app, "--dead-letter", o.dead_letter, "write bad input here as JSON Lines")
        ->group("Source");
    add_option(app, "--max-line", o.max_line, "longest accepted line in bytes")
        ->check(CLI::Range(64u, 1u << 30))
        ->group("Source");
    add_option(app, "--count", o.generator.count, "generator: readings to produce")
        ->group("Generator");
    add_option(app, "--sensors", o.generator.sensors, "generator: number of sensors")
        ->check(CLI::Range(1u, 1u << 30))
        ->group("Generator");
    add_option(app, "--seed", o.generator.seed, "generator: random seed")->group("Generator");
    add_option(app, "--rate", o.generator.rate,
               "generator: readings per second (0 = as fast as possible)")
        ->check(CLI::NonNegativeNumber)
        ->group("Generator");
    add_option(app, "--start", o.generator.start,
               "generator: timestamp of the first reading (Unix seconds)")
        ->group("Generator");
    add_option(app, "--batch-size", o.batch_size,
               "readings per batch (default: 2000 from a regular file, else 1000; more only with "
               "--max-batch-size)")
        ->check(CLI::Range(1u, 1000000u))
        ->default_str("")
        ->group("Flow control");
    add_option(app, "--max-batch-size", o.max_batch_size,
               "readings the open batch may grow to while every unacknowledged slot is taken "
               "(0 = --batch-size: no growth; e.g. 4000 for throughput at saturation)")
        ->check(CLI::Range(0u, 4000000u))
        ->group("Flow control");
    add_option(app, "--flush-interval", o.flush_interval,
               "seconds a partial batch waits for more readings")
        ->check(CLI::NonNegativeNumber)
        ->group("Flow control");
    add_option(app, "--max-unacked", o.max_unacked,
               "batches sent but not yet acknowledged by the ventilator")
        ->check(CLI::Range(1u, 100000u))
        ->group("Flow control");
    add_option(app, "--ack-timeout", o.ack_timeout,
               "seconds before unacknowledged batches are sent again")
        ->check(CLI::PositiveNumber)
        ->group("Faults");
    add_option(app, "--drain-timeout", o.drain_timeout,
               "seconds allowed to deliver held batches on SIGTERM")
        ->check(CLI::NonNegativeNumber)
        ->group("Faults");
    add_option(app, "--stream-id", o.stream_id, "this stream's id (default: random)")
        ->group("Faults");
    core::add_curve_options(app, o.node.curve);
    core::add_metrics_option(app, o.node);
    core::add_node_options(app, o.node);
}

namespace {

core::InputFormat format_of(const Options& o) {
    if (!o.format.empty()) return *core::input_format_from_name(o.format);
    if (!o.listen.empty()) return core::InputFormat::jsonl;
    const std::string& p = o.input;
    for (const char* ext : {".jsonl", ".json", ".ndjson"}) {
        if (p.size() > std::char_traits<char>::length(ext) && p.ends_with(ext))
            return core::InputFormat::jsonl;
    }
    return core::InputFormat::csv;
}

std::unique_ptr<Source> make_source(const Options& o) {
    if (!o.listen.empty()) {
        return make_tcp_listener(TcpListenerSpec{o.listen, format_of(o), o.unit, o.max_line,
                                                 o.max_connections, o.idle_timeout});
    }
    if (o.input.empty()) return make_generator(o.generator);
    return make_line_source(o.input, format_of(o), o.unit, o.max_line);
}

struct Unacked {
    std::uint64_t batch_no = 0;
    std::uint64_t count = 0;
    std::string payload;
    std::uint64_t origin_us = 0; // wall clock when the batch's first reading was read
};

class Ingest {
public:
    explicit Ingest(const Options& o)
        : m_options(o), m_dead(o.dead_letter), m_source(make_source(o)),
          m_vent(core::make_socket(zmq::socket_type::dealer, core::Role::connecting,
                                   static_cast<int>(o.max_unacked) + 16, 1000)),
          m_vent_buffer(m_vent, core::k_ipc_send_buffer),
          m_stream_id(o.stream_id != 0 ? o.stream_id
                                       : std::mt19937_64(std::random_device{}())() | 1),
          m_batch_size(batch_size_for(o.batch_size, o.max_batch_size, m_source->stored())),
          m_max_batch(max_batch_readings(m_batch_size, o.max_batch_size)) {
        m_vent.set(zmq::sockopt::routing_id, "i-" + std::to_string(m_stream_id));
        core::connect(m_vent, o.ventilator, "--ventilator");
        core::log_info("stream ", m_stream_id, ": ", m_source->describe(), " -> ", o.ventilator,
                       ", batches of ", m_batch_size, " readings");
        m_batch.reserve(m_batch_size);
    }

    int run() {
        core::Ticker stats(m_options.node.stats_interval);
        m_started = core::now();
        TimePoint batch_opened{};
        TimePoint next_end{};
        TimePoint drain_deadline = TimePoint::max();
        bool waiting_on_fd = false;
        while (true) {
            TimePoint t = core::now();
            // Also once the input has ended: a stream still waiting for the ventilator's
            // acknowledgements (a ventilator that went away) must still stop within the bound.
            if (drain_deadline == TimePoint::max() && core::stop_requested()) {
                core::log_info(m_source_done ? "stopping: delivering what is held"
                                             : "stopping: no more input; delivering what is held");
                m_source_done = true;
                drain_deadline = t + core::seconds(m_options.drain_timeout);
            }
            waiting_on_fd = false;
            // Read while the window has room, or while the open batch may still grow: this is
            // where backpressure reaches the source.
            while (!m_source_done) {
                const bool room = m_unacked.size() < m_options.max_unacked;
                if (room && m_batch.size() >= m_batch_size) {
                    send_batch();
                    continue;
                }
                // While every slot is taken, the open batch grows up to --max-batch-size rather
                // than the ingest stop reading: at saturation larger batches cost less per
                // reading; below it the window has room and batches stay at --batch-size.
                const std::size_t limit = room ? m_batch_size : m_max_batch;
                if (m_batch.size() >= limit) {
                    if (!m_waiting_logged) {
                        core::log_debug("waiting for the ventilator: ", m_unacked.size(),
                                        " batches unacknowledged, the open batch holds ",
                                        m_batch.size(), " readings");
                        m_waiting_logged = true;
                    }
                    break;
                }
                const bool was_empty = m_batch.empty();
                const Pull r = m_source->pull(m_batch, limit - m_batch.size(), m_dead);
                const auto progress = m_source->progress();
                m_bytes_read.set(static_cast<double>(progress.done));
                m_bytes_total.set(static_cast<double>(progress.total));
                if (was_empty && !m_batch.empty()) {
                    batch_opened = core::now();
                    m_batch_origin_us = core::wall_micros();
                }
                if (r == Pull::end) {
                    m_source_done = true;
                    core::log_info("input ended after ", m_records + m_batch.size(), " readings, ",
                                   m_dead.count(), " dead letters");
                } else if (r == Pull::would_block) {
                    waiting_on_fd = true;
                    break;
                }
            }
            t = core::now();
            const bool flush_due = t >= batch_opened + core::seconds(m_options.flush_interval);
            if (!m_batch.empty() && (m_source_done || flush_due) &&
                m_unacked.size() < m_options.max_unacked) {
                send_batch();
            }
            if (m_source_done && m_batch.empty() && m_unacked.empty() && t >= next_end) {
                const bool sent =
                    core::send(
                        m_vent, nullptr,
                        core::encode_header(Header{
                            MsgType::stream_end, m_stream_id, m_next_batch, m_records, 0, {}})) ==
                    core::Sent::ok;
                next_end = t + (sent ? core::seconds(m_options.ack_timeout) : core::seconds(0.02));
            }
            if (m_end_acked) break;
            if (t > drain_deadline) {
                throw std::runtime_error(
                    m_unacked.empty() && m_batch.empty()
                        ? std::string("the ventilator did not acknowledge the end of the stream "
                                      "within --drain-timeout")
                        : "the ventilator did not acknowledge " +
                              std::to_string(m_unacked.size() + (m_batch.empty() ? 0 : 1)) +
                              " batches within --drain-timeout");
            }
            resend_if_stalled(t);

            transmit_unsent();
            const bool unsent = m_sent < m_unacked.size();
            std::vector<zmq::pollitem_t> items = {
                {m_vent.handle(), 0, static_cast<short>(ZMQ_POLLIN | (unsent ? ZMQ_POLLOUT : 0)),
                 0},
                {nullptr, core::stop_fd(),
                 static_cast<short>(drain_deadline == TimePoint::max() ? ZMQ_POLLIN : 0), 0},
            };
            const bool room = m_unacked.size() < m_options.max_unacked;
            const bool readable = room || m_batch.size() < m_max_batch;
            if (waiting_on_fd && readable && m_source->fd() >= 0)
                items.push_back({nullptr, m_source->fd(), ZMQ_POLLIN, 0});
            auto timeout = core::Millis(100);
            auto until = [&](TimePoint when) {
                const auto d = std::chrono::duration_cast<core::Millis>(when - core::now());
                timeout = std::clamp(d + core::Millis(1), core::Millis(0), timeout);
            };
            if (!m_batch.empty()) until(batch_opened + core::seconds(m_options.flush_interval));
            const TimePoint wake = m_source->wake();
            if (waiting_on_fd && readable && (m_source->fd() < 0 || wake != TimePoint{}))
                until(wake);
            if (!waiting_on_fd && readable && !m_source_done) timeout = core::Millis(0);
            core::poll(items, timeout);
            while (receive_ack()) {
            }
            if (stats.due()) log_status();
        }
        m_dead.flush();
        log_summary();
        return 0;
    }

private:
    void send_batch() {
        Unacked u;
        u.batch_no = m_next_batch++;
        u.count = m_batch.size();
        u.origin_us = m_batch_origin_us;
        core::encode_readings(u.payload, m_batch);
        m_records += m_batch.size();
        core::records_counter().inc(m_batch.size());
        m_dead_letters.set(static_cast<double>(m_dead.count()));
        m_batch.clear();
        m_waiting_logged = false;
        m_unacked.push_back(std::move(u));
        transmit_unsent();
        if (m_unacked.size() == 1) m_last_progress = core::now();
    }

    // False when the ventilator is not connected yet (ZMQ_IMMEDIATE): the batch stays unsent.
    bool transmit(const Unacked& u) {
        zmq::message_t payload(u.payload.data(), u.payload.size());
        return core::send(
                   m_vent, nullptr,
                   core::encode_header(Header{
                       MsgType::stream_batch, m_stream_id, u.batch_no, u.count, u.origin_us, {}}),
                   std::span(&payload, 1)) == core::Sent::ok;
    }

    // Sends the batches that could not be sent yet, in order.
    void transmit_unsent() {
        while (m_sent < m_unacked.size() && transmit(m_unacked[m_sent])) ++m_sent;
    }

    void resend_if_stalled(TimePoint t) {
        if (m_unacked.empty() || t - m_last_progress < core::seconds(m_options.ack_timeout)) return;
        core::log_warn("no acknowledgement from the ventilator for ", m_options.ack_timeout,
                       " s; sending ", m_unacked.size(), " batches again");
        m_sent = 0;
        transmit_unsent();
        m_retries += m_unacked.size();
        m_last_progress = t;
    }

    bool receive_ack() {
        const auto got = core::receive(m_vent, m_frames, core::k_max_frames);
        if (got == core::Received::nothing) return false;
        std::string error;
        if (got == core::Received::oversized || m_frames.size() != 1)
            return malformed("wrong number of frames");
        const auto h = core::decode_header(
            std::string_view(m_frames[0].data<char>(), m_frames[0].size()), error);
        if (!h) return malformed(error);
        if (h->type != MsgType::stream_ack || h->id != m_stream_id)
            return malformed("unexpected message");
        const std::uint64_t oldest = m_unacked.empty() ? m_next_batch : m_unacked.front().batch_no;
        if (h->seq < oldest && h->extra != 2) {
            throw std::runtime_error(
                "the ventilator lost batches it had acknowledged (was it restarted?); "
                "this stream cannot continue");
        }
        bool progressed = false;
        while (!m_unacked.empty() && m_unacked.front().batch_no < h->seq) {
            m_unacked.pop_front();
            if (m_sent > 0) --m_sent;
            progressed = true;
        }
        if (progressed) m_last_progress = core::now();
        if (h->extra == 1 && m_source_done && m_unacked.empty() && h->seq == m_next_batch)
            m_end_acked = true;
        if (h->extra == 2) {
            throw std::runtime_error("the ventilator closed the job before this stream ended (" +
                                     std::to_string(m_records) + " readings sent)");
        }
        return true;
    }

    bool malformed(const std::string& what) {
        ++m_malformed;
        if (m_malformed <= 10)
            core::log_warn("dropped a malformed message from the ventilator: ", what);
        return true;
    }

    void log_status() const {
        const double secs = core::elapsed_seconds(m_started);
        core::log_info("status: sent ", m_records, " readings (", m_next_batch, " batches, ",
                       static_cast<std::uint64_t>(m_records / std::max(secs, 1e-9)),
                       "/s), unacknowledged ", m_unacked.size(), ", dead letters ", m_dead.count(),
                       ", resent ", m_retries);
    }

    void log_summary() const {
        const double secs = core::elapsed_seconds(m_started);
        core::log_info("summary: stream ", m_stream_id, " sent ", m_records, " readings in ",
                       m_next_batch, " batches in ", secs, " s (",
                       static_cast<std::uint64_t>(m_records / std::max(secs, 1e-9)),
                       " readings/s); dead letters ", m_dead.count(), ", batches resent ",
                       m_retries, ", malformed messages ", m_malformed);
        if (const std::string s = m_source->summary(); !s.empty()) core::log_info("summary: ", s);
        // A warning, so that it shows where info does not (`sluice run`'s children log warnings).
        if (const std::string s = m_dead.summary(); !s.empty()) core::log_warn("summary: ", s);
    }

    const Options& m_options;
    DeadLetters m_dead;
    std::unique_ptr<Source> m_source;
    zmq::socket_t m_vent;
    // Up to --max-unacked batches may be in flight (~35 KB per 1,000 readings).
    core::IpcSendBuffer m_vent_buffer;
    std::uint64_t m_stream_id;
    std::size_t m_batch_size;
    std::size_t m_max_batch;
    std::vector<core::Reading> m_batch;
    std::deque<Unacked> m_unacked;
    std::uint64_t m_batch_origin_us = 0;
    core::Gauge& m_dead_letters =
        core::metrics().gauge("sluice_dead_letters", "bad input lines so far");
    core::Gauge& m_bytes_read =
        core::metrics().gauge("sluice_input_bytes_read", "bytes of the input consumed");
    core::Gauge& m_bytes_total =
        core::metrics().gauge("sluice_input_bytes", "size of the input file (0 when unknown)");
    std::size_t m_sent = 0; // m_unacked[0, m_sent) have been handed to the socket
    std::uint64_t m_next_batch = 0;
    std::uint64_t m_records = 0;
    std::uint64_t m_retries = 0;
    std::uint64_t m_malformed = 0;
    bool m_source_done = false;
    bool m_end_acked = false;
    bool m_waiting_logged = false; // since the last batch was sent
    TimePoint m_started{};
    TimePoint m_last_progress{};
    core::Frames m_frames;
};

} // namespace

int run(const Options& options) {
    if (!options.listen.empty() && !options.input.empty())
        throw core::UsageError("--listen and --input are exclusive: give one source");
    Ingest i(options);
    return i.run();
}

int ingest_main(int argc, char** argv) {
    Options options;
    auto app = core::make_app(
        "sluice-ingest",
        "Sluice ingest: reads readings from a file, stdin, TCP sensors or the generator, validates "
        "them and pushes batches to the ventilator.");
    add_options(*app, options);
    return core::run_node(*app, argc, argv, &options.node, [&] { return run(options); });
}

} // namespace sluice::ingest
