#include "workers/worker.hpp"

#include "core/clock.hpp"
#include "core/codec.hpp"
#include "core/features.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/protocol.hpp"
#include "core/security.hpp"
#include "core/sockets.hpp"

#include <algorithm>
#include <deque>
#include <memory>
#include <random>
#include <unistd.h>

namespace sluice::workers {

using core::Header;
using core::MsgType;
using core::TimePoint;

void add_options(CLI::App& app, Options& o) {
    using core::add_option;
    add_option(app, "--ventilator", o.ventilator, "the ventilator's worker endpoint")
        ->group("Endpoints");
    add_option(app, "--sink", o.sink, "the sink's endpoint")->group("Endpoints");
    add_option(app, "--credits", o.credits, "batches this worker holds at once")
        ->check(CLI::Range(1u, 10000u))
        ->group("Flow control");
    core::add_flag(app, "--serve", o.serve,
                   "stay for the next job instead of exiting when the job ends")
        ->group("Lifecycle");
    add_option(app, "--name", o.name, "name in the ventilator's logs (default host:pid)")
        ->group("Lifecycle");
    add_option(app, "--heartbeat-interval", o.heartbeat_interval, "seconds between heartbeats")
        ->check(CLI::PositiveNumber)
        ->group("Faults");
    add_option(app, "--ventilator-timeout", o.ventilator_timeout,
               "seconds of ventilator silence after which the worker introduces itself again")
        ->check(CLI::PositiveNumber)
        ->group("Faults");
    add_option(app, "--throttle", o.throttle,
               "hold each result this many extra seconds (simulates a slow host)")
        ->check(CLI::NonNegativeNumber)
        ->group("Testing");
    core::add_curve_options(app, o.node.curve);
    core::add_metrics_option(app, o.node);
    core::add_node_options(app, o.node);
}

namespace {

std::string default_name() {
    char host[256] = {};
    if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
    return std::string(host) + ":" + std::to_string(::getpid());
}

struct Outgoing {
    std::string header;
    zmq::message_t payload;
    std::uint64_t seq = 0;
    std::uint64_t count = 0;
    TimePoint release{};
};

class Worker {
public:
    explicit Worker(const Options& o)
        : m_options(o), m_name(o.name.empty() ? default_name() : o.name),
          m_vent(core::make_socket(zmq::socket_type::dealer, core::Role::connecting, 1000, 1000)),
          m_sink(core::make_socket(zmq::socket_type::push, core::Role::connecting, 1000, 1000)),
          m_sink_buffer(m_sink, core::k_ipc_send_buffer) {
        // A stable identity lets the ventilator recognise this worker across a reconnection.
        std::mt19937_64 rng(std::random_device{}());
        const std::string identity = "w-" + std::to_string(rng());
        m_vent.set(zmq::sockopt::routing_id, identity);
        core::connect(m_vent, o.ventilator, "--ventilator");
        core::connect(m_sink, o.sink, "--sink");
        core::log_info("worker ", m_name, " connecting to ventilator ", o.ventilator, " and sink ",
                       o.sink);
    }

    int run() {
        core::Ticker stats(m_options.node.stats_interval);
        const auto hb_interval = core::seconds(m_options.heartbeat_interval);
        TimePoint next_hello{};
        TimePoint next_heartbeat{};
        m_vent_seen = core::now();
        m_started = core::now();
        bool stopping = false;
        while (true) {
            const TimePoint t = core::now();
            if (!stopping && core::stop_requested()) {
                stopping = true;
                core::log_info("stopping: finishing ", m_outbox.size(), " results in hand");
                m_stop_deadline = t + core::seconds(5.0);
            }
            if (stopping && (m_outbox.empty() || t > m_stop_deadline)) {
                goodbye();
                break;
            }
            if (!m_configured && t >= next_hello && !stopping) {
                // Not connected yet (would block): try again soon rather than at the next second.
                next_hello = t + core::seconds(hello() == core::Sent::ok ? 1.0 : 0.02);
            }
            if (m_configured && t >= next_heartbeat) {
                say(MsgType::heartbeat);
                next_heartbeat = t + hb_interval;
            }
            if (m_configured && t - m_vent_seen > core::seconds(m_options.ventilator_timeout)) {
                core::log_warn("ventilator silent for ", m_options.ventilator_timeout,
                               " s; introducing myself again");
                m_configured = false;
                m_vent_seen = t;
            }
            const bool can_send = !m_outbox.empty() && m_outbox.front().release <= t;
            std::vector<zmq::pollitem_t> items = {
                {m_vent.handle(), 0, ZMQ_POLLIN, 0},
                {m_sink.handle(), 0, static_cast<short>(can_send ? ZMQ_POLLOUT : 0), 0},
                {nullptr, core::stop_fd(), static_cast<short>(stopping ? 0 : ZMQ_POLLIN), 0},
            };
            core::poll(items,
                       core::Millis(can_send || !m_outbox.empty() || !m_configured ? 10 : 100));
            if (items[1].revents & ZMQ_POLLOUT) flush_outbox();
            if (items[0].revents & ZMQ_POLLIN) {
                for (int i = 0; i < 64; ++i) {
                    const auto r = receive();
                    if (r == Step::nothing) break;
                    if (r == Step::job_ended && !m_options.serve) {
                        drain_and_exit();
                        log_summary();
                        return 0;
                    }
                }
            }
            if (stats.due()) log_status();
        }
        log_summary();
        return 0;
    }

private:
    enum class Step { nothing, handled, job_ended };

    core::Sent hello() {
        const Header h{MsgType::worker_hello, 0, 0, 0, m_options.credits, m_name};
        return core::send(m_vent, nullptr, core::encode_header(h));
    }

    void say(MsgType type, std::uint64_t seq = 0, std::uint64_t count = 0) {
        (void)core::send(m_vent, nullptr,
                         core::encode_header(Header{type, m_job_id, seq, count, 0, {}}));
    }

    Step receive() {
        const auto got = core::receive(m_vent, m_frames, core::k_max_frames);
        if (got == core::Received::nothing) return Step::nothing;
        if (got == core::Received::oversized || m_frames.empty())
            return malformed("message with too many frames");
        std::string error;
        const auto h = core::decode_header(
            std::string_view(m_frames[0].data<char>(), m_frames[0].size()), error);
        if (!h) return malformed(error);
        if (m_frames.size() != 1 + core::data_frames(h->type))
            return malformed("wrong number of frames");
        m_vent_seen = core::now();
        switch (h->type) {
        case MsgType::job_config:
            return on_config(*h);
        case MsgType::task:
            return on_task(*h);
        case MsgType::heartbeat:
        case MsgType::worker_bye: // the acknowledgement of a goodbye (--serve, between jobs)
            return Step::handled;
        case MsgType::reset:
            core::log_info("the ventilator does not know this worker; introducing myself again");
            m_configured = false;
            (void)hello();
            return Step::handled;
        case MsgType::job_end:
            if (h->id != m_job_id) return Step::handled;
            core::log_info("job ", m_job_id, " ended",
                           m_options.serve ? "; waiting for the next job" : "");
            if (m_options.serve) {
                say(MsgType::worker_bye);
                m_configured = false;
            }
            return Step::job_ended;
        default:
            return malformed("unexpected " + std::string(core::msg_type_name(h->type)));
        }
    }

    Step on_config(const Header& h) {
        core::DecodeError error;
        core::JobConfig config;
        if (!core::decode_config(std::string_view(m_frames[1].data<char>(), m_frames[1].size()),
                                 config, error)) {
            return malformed(error.what);
        }
        if (h.id != m_job_id) {
            core::log_info("joined job ", h.id, ": window ", config.window, ", heavy ",
                           config.heavy, ", ", core::output_format_name(config.format), " output, ",
                           config.calibration.size(), " calibrated sensors");
        }
        // Windows kept from another job mean nothing in this one.
        if (h.id != m_job_id) m_windows.clear();
        m_config = std::move(config);
        m_job_id = h.id;
        m_configured = true;
        return Step::handled;
    }

    Step on_task(const Header& h) {
        if (!m_configured || h.id != m_job_id) {
            // Work for a job we have no configuration for: the ventilator will re-dispatch it once
            // it sees us again.
            (void)hello();
            return Step::handled;
        }
        core::DecodeError error;
        const std::string_view readings(m_frames[1].data<char>(), m_frames[1].size());
        const std::string_view history(m_frames[2].data<char>(), m_frames[2].size());
        if (!core::decode_readings(readings, m_views, error) ||
            !core::decode_history(history, m_config.window - 1, m_history, error)) {
            return malformed("task " + std::to_string(h.seq) + ": " + error.what);
        }
        std::size_t failed = 0;
        if (!m_windows.apply(m_config, m_history, failed)) {
            // The task was cut for windows this worker does not hold (a task it never got, a
            // restart): the ventilator sends it again with whole histories. Rare, so logged.
            const auto& e = m_history.entries[failed];
            core::log_info("refused task ", h.seq, ": its history of sensor '",
                           core::printable_name(e.sensor_id), "' continues from reading ",
                           e.end - e.count, ", which this worker's window is not at");
            ++m_refused;
            m_refused_metric.inc();
            // The ventilator now assumes nothing of our windows; holding none keeps both sides
            // counting the same windows against the job's limit (WindowCache::apply).
            m_windows.clear();
            say(MsgType::task_refused, h.seq);
            return Step::handled;
        }
        m_windows.compute(m_config, m_views, m_features);
        // The batch's output is formatted into one buffer sized from the widest record seen so far
        // (no regrowth: a regrowth copies everything written before it), and the buffer then
        // becomes the message itself: zero-copy, freed by ZeroMQ once it has been sent.
        auto out = std::make_unique<std::string>();
        out->reserve(m_views.size() * m_record_bytes + 64);
        const bool with_heavy = m_config.heavy > 0;
        for (std::size_t i = 0; i < m_views.size(); ++i) {
            const std::size_t before = out->size();
            core::append_record(*out, m_config.format, m_views[i], m_features[i], with_heavy);
            m_record_bytes = std::max(m_record_bytes, out->size() - before);
        }
        Outgoing o;
        // extra carries the batch's origin time through to the sink's latency histogram.
        o.header = core::encode_header(Header{MsgType::result, m_job_id, h.seq, m_views.size(),
                                              h.extra, core::output_format_name(m_config.format)});
        o.payload = core::message_from(std::move(out));
        o.seq = h.seq;
        o.count = m_views.size();
        o.release = core::now() + core::seconds(m_options.throttle);
        m_outbox.push_back(std::move(o));
        flush_outbox();
        return Step::handled;
    }

    void flush_outbox() {
        const TimePoint t = core::now();
        while (!m_outbox.empty() && m_outbox.front().release <= t) {
            Outgoing& o = m_outbox.front();
            if (core::send(m_sink, nullptr, o.header, std::span(&o.payload, 1)) != core::Sent::ok)
                return;
            // Done only once the result is in the sink's pipe, so that the ventilator's view never
            // runs ahead of the data.
            say(MsgType::task_done, o.seq, o.count);
            ++m_batches_done;
            m_records_done += o.count;
            m_records_metric.inc(o.count);
            m_batches_metric.inc();
            m_outbox.pop_front();
        }
    }

    void drain_and_exit() {
        const TimePoint deadline = core::now() + core::seconds(5.0);
        while (!m_outbox.empty() && core::now() < deadline) {
            std::vector<zmq::pollitem_t> items = {{m_sink.handle(), 0, ZMQ_POLLOUT, 0}};
            core::poll(items, core::Millis(10));
            flush_outbox();
        }
        goodbye();
    }

    // The last word to the ventilator before exiting. Sockets close with linger 0, so the
    // goodbye is not left to linger: the worker waits (at most 1 s) for the ventilator to echo
    // it. A ventilator that is already gone costs that second and nothing else; one that misses
    // the goodbye still forgets the worker after --worker-timeout. A worker that has not joined
    // a job (no ventilator answered it) holds no work, so it says goodbye without waiting: its
    // ventilator is most likely gone, as when a job ended before the worker had started.
    void goodbye() {
        say(MsgType::worker_bye);
        if (!m_configured) return;
        const TimePoint deadline = core::now() + core::seconds(1.0);
        while (core::now() < deadline) {
            std::vector<zmq::pollitem_t> items = {{m_vent.handle(), 0, ZMQ_POLLIN, 0}};
            core::poll(items, core::Millis(20));
            while (core::receive(m_vent, m_frames, core::k_max_frames) == core::Received::message) {
                if (m_frames.empty()) continue;
                std::string error;
                const auto h = core::decode_header(
                    std::string_view(m_frames[0].data<char>(), m_frames[0].size()), error);
                if (h && h->type == MsgType::worker_bye) return;
            }
        }
        core::log_info("the ventilator did not acknowledge the goodbye within 1 s; exiting anyway");
    }

    Step malformed(const std::string& what) {
        ++m_malformed;
        core::malformed_counter().inc();
        if (m_malformed <= 10 || m_malformed % 1000 == 0) {
            core::log_warn("dropped a malformed message from the ventilator: ", what, " (",
                           m_malformed, " so far)");
        }
        return Step::handled;
    }

    void log_status() const {
        const double secs = core::elapsed_seconds(m_started);
        core::log_info("status: ", m_name, " done ", m_batches_done, " batches, ", m_records_done,
                       " readings (",
                       static_cast<std::uint64_t>(m_records_done / std::max(secs, 1e-9)),
                       "/s), holding ", m_outbox.size(), ", malformed ", m_malformed);
    }

    void log_summary() const {
        const double secs = core::elapsed_seconds(m_started);
        core::log_info("summary: ", m_name, " computed ", m_batches_done, " batches, ",
                       m_records_done, " readings in ", secs, " s; tasks refused ", m_refused,
                       ", windows dropped ", m_windows.drops(), " times (holding ",
                       m_windows.sensors(), " at the end), malformed messages ", m_malformed);
    }

    const Options& m_options;
    std::string m_name;
    zmq::socket_t m_vent;
    zmq::socket_t m_sink;
    // Results are the largest messages (~311 KB of JSON Lines per 1,000 readings).
    core::IpcSendBuffer m_sink_buffer;
    core::JobConfig m_config;
    std::uint64_t m_job_id = 0;
    bool m_configured = false;
    TimePoint m_vent_seen{};
    TimePoint m_started{};
    TimePoint m_stop_deadline{};
    std::deque<Outgoing> m_outbox;
    std::uint64_t m_batches_done = 0;
    std::uint64_t m_records_done = 0;
    std::uint64_t m_malformed = 0;
    std::uint64_t m_refused = 0;
    core::Counter& m_records_metric = core::records_counter();
    core::Counter& m_refused_metric = core::metrics().counter(
        "sluice_tasks_refused_total", "tasks whose history did not continue this worker's windows");
    core::Counter& m_batches_metric =
        core::metrics().counter("sluice_batches_total", "batches computed");

    core::Frames m_frames;
    std::vector<core::ReadingView> m_views;
    core::History m_history;
    // The windows of the sensors this worker has computed in the job, at most the job's
    // kept_windows of them, so that tasks need carry only the values it has not seen
    // (docs/PROTOCOL.md, "History" and "Bounded windows").
    core::WindowCache m_windows;
    std::vector<core::Features> m_features;
    std::size_t m_record_bytes = 256; // the widest formatted record so far
};

} // namespace

int run(const Options& options) {
    Worker w(options);
    return w.run();
}

int worker_main(int argc, char** argv) {
    Options options;
    auto app = core::make_app(
        "sluice-worker", "Sluice worker: computes the features of batches from the ventilator and "
                         "pushes the results to the sink. Needs nothing but its two endpoints.");
    add_options(*app, options);
    return core::run_node(*app, argc, argv, &options.node, [&] { return run(options); });
}

} // namespace sluice::workers
