#include "ventilator/ventilator.hpp"

#include "core/clock.hpp"
#include "core/codec.hpp"
#include "core/features.hpp"
#include "core/log.hpp"
#include "core/metrics.hpp"
#include "core/protocol.hpp"
#include "core/security.hpp"
#include "core/sockets.hpp"
#include "ventilator/history_store.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace sluice::ventilator {

using core::Frames;
using core::Header;
using core::MsgType;
using core::TimePoint;

void add_options(CLI::App& app, Options& o) {
    using core::add_option;
    add_option(app, "--bind-ingest", o.bind_ingest, "endpoint where ingest nodes connect")
        ->group("Endpoints");
    add_option(app, "--bind-workers", o.bind_workers, "endpoint where workers connect")
        ->group("Endpoints");
    add_option(app, "--bind-sink", o.bind_sink, "endpoint where the sink connects")
        ->group("Endpoints");
    add_option(app, "--expect-ingest", o.expect_ingest,
               "end the job when this many ingest streams have ended (0 = endless job)")
        ->group("Job");
    add_option(app, "--calibration", o.calibration,
               "CSV file sensorId,offset,scale (others: 20, 60)")
        ->check(CLI::ExistingFile)
        ->group("Job");
    add_option(app, "--window", o.window, "values per rolling window W")
        ->check(CLI::Range(1u, core::k_max_window))
        ->group("Job");
    add_option(app, "--heavy", o.heavy, "iterations K of the heavy transform (0 = off)")
        ->group("Job");
    add_option(app, "--worker-window-memory", o.worker_window_memory,
               "MiB of windows a worker keeps between tasks; past it, it drops them and is sent "
               "whole histories (0 = no limit)")
        ->group("Job");
    add_option(app, "--max-in-flight", o.max_in_flight,
               "batches held between acceptance and the sink's commit (bounds every queue)")
        ->check(CLI::Range(1u, 1000000u))
        ->group("Flow control");
    add_option(app, "--max-credits", o.max_credits, "most batches one worker may hold")
        ->check(CLI::Range(1u, 10000u))
        ->group("Flow control");
    add_option(app, "--ingest-hwm", o.ingest_hwm, "high-water mark of the ingest socket (messages)")
        ->check(CLI::Range(1, 1000000))
        ->group("Flow control");
    add_option(app, "--heartbeat-interval", o.heartbeat_interval, "seconds between heartbeats")
        ->check(CLI::PositiveNumber)
        ->group("Faults");
    add_option(app, "--worker-timeout", o.worker_timeout,
               "seconds of silence after which a worker's work is dispatched again")
        ->check(CLI::PositiveNumber)
        ->group("Faults");
    add_option(app, "--task-timeout", o.task_timeout,
               "seconds after which an unfinished assignment is dispatched again")
        ->check(CLI::PositiveNumber)
        ->group("Faults");
    add_option(app, "--retry-after", o.retry_after,
               "seconds after which a finished batch the sink has not received is dispatched again")
        ->check(CLI::PositiveNumber)
        ->group("Faults");
    add_option(app, "--drain-timeout", o.drain_timeout,
               "seconds allowed to finish held work on SIGTERM")
        ->check(CLI::NonNegativeNumber)
        ->group("Faults");
    core::add_curve_options(app, o.node.curve);
    core::add_metrics_option(app, o.node);
    core::add_node_options(app, o.node);
}

namespace {

enum class BatchState { queued, assigned, done };

struct Batch {
    std::uint64_t seq = 0;
    std::uint64_t count = 0;
    zmq::message_t readings;
    // Its sensors and where each one's history ends: the history is encoded from m_history when
    // the batch is sent, so that a sensor's values are held once, not once per batch.
    std::vector<HistoryStore::Entry> sensors;
    BatchState state = BatchState::queued;
    std::string worker;          // routing id of the last worker it went to
    TimePoint since{};           // when it entered its state
    std::uint64_t origin_us = 0; // wall-clock µs when the ingest opened the batch
};

struct Worker {
    std::string name;
    std::string address; // the peer's address as ZeroMQ saw it (empty over ipc://)
    std::uint32_t credits = 1;
    std::set<std::uint64_t> assigned;
    TimePoint last_seen{};
    std::uint64_t batches_done = 0;
    std::uint64_t records_done = 0;
    std::uint64_t records_at_last_status = 0;
    double rate = 0; // records/s over the last status interval
    bool configured = false;
    HistoryStore::Peer history; // what its windows are assumed to hold
};

struct Stream {
    std::string peer;             // routing id of its ingest connection
    std::string address;          // the peer's address as ZeroMQ saw it (empty over ipc://)
    std::uint64_t next_batch = 0; // batch number expected next
    std::uint64_t records = 0;
    bool ended = false;
};

// Backed by the process's metrics registry, so /metrics shows the same numbers as the logs.
struct Counters {
    core::Counter& batches_in = core::metrics().counter("sluice_batches_total", "batches accepted");
    core::Counter& records_in = core::records_counter();
    core::Counter& dispatched =
        core::metrics().counter("sluice_dispatches_total", "batches sent to workers");
    core::Counter& redispatched =
        core::metrics().counter("sluice_retries_total", "batches queued again after a fault");
    core::Counter& malformed = core::malformed_counter();
    core::Counter& rejected_batches = core::metrics().counter("sluice_rejected_batches_total",
                                                              "ingest batches refused as invalid");
    core::Counter& workers_lost =
        core::metrics().counter("sluice_workers_lost_total", "workers presumed dead after silence");
    core::Counter& refused = core::metrics().counter(
        "sluice_tasks_refused_total", "tasks a worker refused: its windows were not as assumed");
    core::Counter& window_drops = core::metrics().counter(
        "sluice_window_drops_total",
        "tasks before which a worker drops its windows to keep to --worker-window-memory");
};

struct Gauges {
    core::Gauge& workers = core::metrics().gauge("sluice_workers", "workers connected");
    core::Gauge& held =
        core::metrics().gauge("sluice_batches_held", "batches accepted and not yet written");
    core::Gauge& queued =
        core::metrics().gauge("sluice_batches_queued", "batches waiting for a worker");
    core::Gauge& in_flight =
        core::metrics().gauge("sluice_batches_in_flight", "batches at workers");
    core::Gauge& written =
        core::metrics().gauge("sluice_records_written", "records the sink reported written");
    core::Gauge& streams = core::metrics().gauge("sluice_ingest_streams", "ingest streams seen");
    core::Gauge& sensors = core::metrics().gauge(
        "sluice_sensors", "distinct sensors whose history is kept (none with --window 1)");
    core::Gauge& history_values = core::metrics().gauge(
        "sluice_history_values", "sensor values kept for the histories of held and later batches");
};

std::string id_of(const zmq::message_t& m) {
    return std::string(m.data<char>(), m.size());
}

// The remote address of the connection a message came in on, when the transport has one.
std::string peer_address(zmq::message_t& m) {
    const char* address = zmq_msg_gets(m.handle(), "Peer-Address");
    return address == nullptr ? std::string() : std::string(address);
}

std::string with_commas(std::uint64_t n) {
    std::string s = std::to_string(n);
    for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3)
        s.insert(static_cast<std::size_t>(i), ",");
    return s;
}

std::string seconds_text(double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f s", s);
    return buf;
}

// Columns padded to their widest cell, two spaces apart; numbers (cells starting with a digit)
// right-aligned.
void append_table(std::string& out, const std::vector<std::vector<std::string>>& rows) {
    std::vector<std::size_t> width;
    for (const auto& row : rows) {
        width.resize(std::max(width.size(), row.size()));
        for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
    }
    for (std::size_t r = 0; r < rows.size(); ++r) {
        std::string line;
        for (std::size_t i = 0; i < rows[r].size(); ++i) {
            const std::string& cell = rows[r][i];
            const std::string pad(width[i] - cell.size(), ' ');
            const bool numeric = r > 0 && !cell.empty() && (std::isdigit(cell[0]) != 0);
            if (i > 0) line += "  ";
            line += numeric ? pad + cell : cell + pad;
        }
        while (!line.empty() && line.back() == ' ') line.pop_back();
        out += line + "\n";
    }
}

// The job's limit on the windows a worker keeps, in sensors (0 = none).
std::uint64_t kept_windows(const Options& o) {
    return o.worker_window_memory == 0 ? 0
                                       : core::kept_windows_for(o.worker_window_memory, o.window);
}

class Ventilator {
public:
    explicit Ventilator(const Options& o)
        : m_options(o), m_ingest(core::make_socket(zmq::socket_type::router, core::Role::binding,
                                                   1000, o.ingest_hwm)),
          m_workers(core::make_socket(zmq::socket_type::router, core::Role::binding, 10000, 10000)),
          m_workers_buffer(m_workers, core::k_ipc_send_buffer),
          m_sink(core::make_socket(zmq::socket_type::router, core::Role::binding, 1000, 1000)),
          m_job_id(std::random_device{}() | (std::uint64_t{std::random_device{}()} << 32) | 1),
          m_history(o.window - 1, kept_windows(o)) {
        m_config.window = o.window;
        m_config.heavy = o.heavy;
        m_config.kept_windows = kept_windows(o);
        if (!o.calibration.empty()) m_config.calibration = core::load_calibration(o.calibration);
        const auto a = core::bind(m_ingest, o.bind_ingest, "--bind-ingest");
        const auto b = core::bind(m_workers, o.bind_workers, "--bind-workers");
        const auto c = core::bind(m_sink, o.bind_sink, "--bind-sink");
        core::log_info(
            "job ", m_job_id, ": ingest on ", a, ", workers on ", b, ", sink on ", c, "; window ",
            o.window, ", heavy ", o.heavy, ", ", m_config.calibration.size(), " calibrated sensors",
            m_config.kept_windows != 0 ? ", workers keep the windows of up to " +
                                             with_commas(m_config.kept_windows) + " sensors"
                                       : "",
            o.expect_ingest ? ", expecting " + std::to_string(o.expect_ingest) + " ingest streams"
                            : ", endless job");
    }

    int run() {
        core::Ticker stats(m_options.node.stats_interval);
        core::Ticker heartbeat(m_options.heartbeat_interval);
        // The table behind `sluice status`, refreshed once a second when --metrics serves it.
        core::Ticker status_table(m_options.node.metrics.empty() ? 0.0 : 1.0);
        m_started = core::now();
        m_last_status = m_started;
        if (!m_options.node.metrics.empty()) publish_status_table(m_started);
        TimePoint drain_deadline{};
        std::size_t unwritten = 0; // batches a drain gave up on
        while (true) {
            if (!m_draining && core::stop_requested()) {
                m_draining = true;
                drain_deadline = core::now() + core::seconds(m_options.drain_timeout);
                core::log_info("stopping: no new input; finishing ", m_batches.size(),
                               " held batches");
                // The job ends with what is sequenced now; ingest streams learn it from their acks.
                close_job("stopped by signal");
            }
            const bool room = m_batches.size() < m_options.max_in_flight;
            std::vector<zmq::pollitem_t> items = {
                {m_ingest.handle(), 0,
                 // Once the job is complete, ingest messages are still read, only to be answered
                 // with "job closed".
                 static_cast<short>(room || m_job_complete ? ZMQ_POLLIN : 0), 0},
                {m_workers.handle(), 0, ZMQ_POLLIN, 0},
                {m_sink.handle(), 0, ZMQ_POLLIN, 0},
                {nullptr, core::stop_fd(), static_cast<short>(m_draining ? 0 : ZMQ_POLLIN), 0},
            };
            core::poll(items, core::Millis(50));
            for (int i = 0; i < 256 && items[0].revents &&
                            (m_job_complete || m_batches.size() < m_options.max_in_flight);
                 ++i) {
                if (!receive_ingest()) break;
            }
            for (int i = 0; i < 1024 && items[1].revents; ++i) {
                if (!receive_worker()) break;
            }
            for (int i = 0; i < 256 && items[2].revents; ++i) {
                if (!receive_sink()) break;
            }
            const TimePoint t = core::now();
            check_workers(t);
            check_stalls(t);
            dispatch(t);
            if (heartbeat.due(t)) send_heartbeats(t);
            publish_gauges();
            if (status_table.due(t)) publish_status_table(t);
            if (stats.due(t)) log_status();
            if (m_finished) break;
            if (m_draining && m_batches.empty() && !m_sink_known)
                break; // nothing held, nobody to tell
            if (m_draining && t > drain_deadline) {
                unwritten = m_batches.size();
                break;
            }
        }
        finish_workers();
        // The sink retries sink_finished until acknowledged (bounded), so delivery of the ack does
        // not depend on this; a short linger only spares it the wait in the normal case.
        m_sink.set(zmq::sockopt::linger, 1000);
        m_ingest.set(zmq::sockopt::linger, 1000);
        log_summary();
        // Like an ingest that cannot deliver its batches on a stop: readings were lost, so the
        // stop did not finish what it held.
        if (unwritten > 0) {
            throw std::runtime_error("--drain-timeout passed with " + std::to_string(unwritten) +
                                     " batches not written (no sink, or no worker, took them)");
        }
        return 0;
    }

private:
    // ---- ingest --------------------------------------------------------------------------------
    bool receive_ingest() {
        const auto got = core::receive(m_ingest, m_frames, 1 + core::k_max_frames);
        if (got == core::Received::nothing) return false;
        Header h;
        if (!decode(got, 1, m_frames, h, "ingest")) return true;
        const std::string peer = id_of(m_frames[0]);
        if (h.type == MsgType::stream_batch) {
            on_stream_batch(peer, h);
        } else if (h.type == MsgType::stream_end) {
            on_stream_end(peer, h);
        } else if (h.type != MsgType::heartbeat) {
            malformed("ingest", "unexpected " + std::string(core::msg_type_name(h.type)));
        }
        return true;
    }

    void on_stream_batch(const std::string& peer, const Header& h) {
        Stream& s = m_streams[h.id];
        if (s.peer != peer) s.address = peer_address(m_frames[1]);
        s.peer = peer;
        if (m_job_complete || s.ended) {
            ack(peer, h.id, s);
            return;
        }
        if (h.seq != s.next_batch) {
            // A duplicate (our ack was lost) or a gap (a batch was lost): the ack tells the stream
            // where to resume.
            ack(peer, h.id, s);
            return;
        }
        zmq::message_t& payload = m_frames[2];
        core::DecodeError error;
        if (!core::decode_readings(std::string_view(payload.data<char>(), payload.size()), m_views,
                                   error) ||
            m_views.size() != h.count) {
            m_counters.rejected_batches.inc();
            core::log_error("rejected batch ", h.seq, " of stream ", h.id, ": ",
                            error.what.empty() ? "record count does not match" : error.what);
            ++s.next_batch;
            ack(peer, h.id, s);
            return;
        }
        Batch b;
        b.seq = m_next_seq++;
        b.count = m_views.size();
        b.origin_us = h.extra;
        b.readings = std::move(payload);
        m_history.accept(m_views, b.sensors);
        b.since = core::now();
        m_queue.insert(b.seq);
        m_batches.push_back(std::move(b));
        ++s.next_batch;
        s.records += m_views.size();
        m_total_records += m_views.size();
        m_counters.batches_in.inc();
        m_counters.records_in.inc(m_views.size());
        ack(peer, h.id, s);
    }

    // For every sensor of the batch, the values before it that this worker is not assumed to hold
    // (at most the last W-1), encoded from the store straight into a buffer that becomes the
    // message: no copy in between.
    zmq::message_t make_history(const Batch& b, HistoryStore::Peer& peer) {
        auto out = std::make_unique<std::string>();
        out->reserve(m_history_bytes);
        core::HistoryEncoder history(*out);
        const std::uint64_t drops = peer.drops();
        m_history.encode(b.sensors, history, &peer);
        if (peer.drops() != drops) m_counters.window_drops.inc();
        history.finish();
        m_history_bytes = out->size();
        return core::message_from(std::move(out));
    }

    void on_stream_end(const std::string& peer, const Header& h) {
        Stream& s = m_streams[h.id];
        if (s.peer != peer) s.address = peer_address(m_frames[1]);
        s.peer = peer;
        if (!s.ended && h.seq == s.next_batch) {
            s.ended = true;
            ++m_streams_ended;
            core::log_info("ingest stream ", h.id, " ended after ", s.next_batch, " batches, ",
                           s.records, " readings (", m_streams_ended, " of ",
                           m_options.expect_ingest ? std::to_string(m_options.expect_ingest)
                                                   : "unlimited",
                           " streams ended)");
            if (m_options.expect_ingest > 0 && m_streams_ended >= m_options.expect_ingest) {
                close_job("every expected ingest stream ended");
            }
        }
        ack(peer, h.id, s);
    }

    void ack(const std::string& peer, std::uint64_t stream_id, const Stream& s) {
        Header a{MsgType::stream_ack, stream_id, s.next_batch, 0, 0, {}};
        a.extra = s.ended ? 1 : (m_job_complete ? 2 : 0);
        const zmq::message_t id(peer.data(), peer.size());
        (void)core::send(m_ingest, &id, core::encode_header(a));
    }

    // No more input: the job's length is now known to the sink.
    void close_job(std::string_view why) {
        if (m_job_complete) return;
        m_job_complete = true;
        // Streams still open learn now that the job is closed; they may not write to us again
        // before we exit.
        for (const auto& [id, stream] : m_streams) {
            if (!stream.ended && !stream.peer.empty()) ack(stream.peer, id, stream);
        }
        core::log_info("job ", m_job_id, " input complete (", why, "): ", m_next_seq, " batches, ",
                       m_total_records, " readings");
        send_sink_end();
    }

    // ---- workers -------------------------------------------------------------------------------
    bool receive_worker() {
        const auto got = core::receive(m_workers, m_frames, 1 + core::k_max_frames);
        if (got == core::Received::nothing) return false;
        Header h;
        if (!decode(got, 1, m_frames, h, "workers")) return true;
        const std::string peer = id_of(m_frames[0]);
        const TimePoint t = core::now();
        if (h.type == MsgType::worker_hello) {
            on_worker_hello(peer, h, t);
            return true;
        }
        auto it = m_worker_table.find(peer);
        if (it == m_worker_table.end()) {
            // A worker we presumed dead, or one from before a restart: it must introduce itself.
            // A goodbye is acknowledged all the same: the worker is leaving and waits for it.
            const auto answer =
                h.type == MsgType::worker_bye ? MsgType::worker_bye : MsgType::reset;
            send_worker(peer, Header{answer, m_job_id, 0, 0, 0, {}});
            return true;
        }
        Worker& w = it->second;
        w.last_seen = t;
        switch (h.type) {
        case MsgType::task_done:
            on_task_done(peer, w, h, t);
            break;
        case MsgType::task_refused:
            on_task_refused(peer, w, h);
            break;
        case MsgType::heartbeat:
            break;
        case MsgType::worker_bye:
            forget_worker(peer, "said goodbye");
            send_worker(peer, Header{MsgType::worker_bye, m_job_id, 0, 0, 0, {}}); // the ack
            break;
        default:
            malformed("workers", "unexpected " + std::string(core::msg_type_name(h.type)));
        }
        return true;
    }

    void on_worker_hello(const std::string& peer, const Header& h, TimePoint t) {
        if (m_worker_table.contains(peer)) forget_worker(peer, "introduced itself again");
        Worker w;
        w.name = core::printable_name(h.name);
        w.credits = static_cast<std::uint32_t>(
            std::clamp<std::uint64_t>(h.extra, 1, m_options.max_credits));
        w.last_seen = t;
        w.address = peer_address(m_frames[1]);
        m_worker_table.emplace(peer, std::move(w));
        core::log_info("worker ", m_worker_table[peer].name, " joined with ",
                       m_worker_table[peer].credits, " credits (", m_worker_table.size(),
                       " workers)");
        if (m_sink_known) configure(peer, m_worker_table[peer]);
    }

    void configure(const std::string& peer, Worker& w) {
        std::string payload;
        core::encode_config(payload, m_config);
        zmq::message_t frame(payload.data(), payload.size());
        if (send_worker(peer, Header{MsgType::job_config, m_job_id, 0, 0, 0, {}},
                        std::span(&frame, 1))) {
            w.configured = true;
        }
    }

    void on_task_done(const std::string& peer, Worker& w, const Header& h, TimePoint t) {
        // Counted before the lookup: the sink's commit may overtake this message and release the
        // batch, but the worker did the work all the same.
        ++w.batches_done;
        w.records_done += h.count;
        ++m_done_by_worker[w.name];
        w.assigned.erase(h.seq);
        Batch* b = find_batch(h.seq);
        if (b == nullptr || b->state != BatchState::assigned || b->worker != peer) return;
        b->state = BatchState::done;
        b->since = t;
    }

    // The worker's windows are not where we assumed (it missed a task, or restarted): assume
    // nothing of it from now on, so that its tasks carry whole histories again, and send the
    // batch again.
    void on_task_refused(const std::string& peer, Worker& w, const Header& h) {
        m_counters.refused.inc();
        w.history.forget();
        core::log_info("worker ", w.name, " refused batch ", h.seq,
                       ": its windows are not where this ventilator assumed; sending it whole "
                       "histories again");
        Batch* b = find_batch(h.seq);
        if (b == nullptr || b->state != BatchState::assigned || b->worker != peer) return;
        w.assigned.erase(h.seq);
        requeue(*b);
    }

    void forget_worker(const std::string& peer, std::string_view why) {
        auto it = m_worker_table.find(peer);
        if (it == m_worker_table.end()) return;
        std::size_t requeued = 0;
        // Its finished results may still be in its socket buffers: only the sink's commit proves
        // delivery, so everything of it that is not committed goes out again.
        for (Batch& b : m_batches) {
            if (b.worker == peer && b.state != BatchState::queued) {
                requeue(b);
                ++requeued;
            }
        }
        core::log_info("worker ", it->second.name, " ", why, "; ", requeued,
                       " batches dispatched again (", m_worker_table.size() - 1, " workers left)");
        m_worker_table.erase(it);
        if (m_worker_table.empty() && !m_batches.empty()) m_warned_no_workers = false;
    }

    void requeue(Batch& b) {
        b.state = BatchState::queued;
        b.worker.clear();
        m_queue.insert(b.seq);
        m_counters.redispatched.inc();
    }

    void check_workers(TimePoint t) {
        const auto timeout = core::seconds(m_options.worker_timeout);
        std::vector<std::string> dead;
        for (const auto& [peer, w] : m_worker_table) {
            if (t - w.last_seen > timeout) dead.push_back(peer);
        }
        for (const auto& peer : dead) {
            m_counters.workers_lost.inc();
            forget_worker(peer, "went silent");
        }
    }

    // A batch whose result never reached the sink (lost on a cut link) or whose worker kept it
    // too long goes out again; the sink drops whichever copy arrives second.
    void check_stalls(TimePoint t) {
        if (m_batches.empty()) return;
        Batch& oldest = m_batches.front();
        if (oldest.state == BatchState::done &&
            t - oldest.since > core::seconds(m_options.retry_after)) {
            core::log_warn("batch ", oldest.seq,
                           " was finished but has not reached the sink; dispatching again");
            requeue(oldest);
        }
        for (Batch& b : m_batches) {
            if (b.state == BatchState::assigned &&
                t - b.since > core::seconds(m_options.task_timeout)) {
                auto it = m_worker_table.find(b.worker);
                if (it != m_worker_table.end()) it->second.assigned.erase(b.seq);
                core::log_warn("batch ", b.seq,
                               " took longer than --task-timeout; dispatching again");
                requeue(b);
            }
        }
    }

    void dispatch(TimePoint t) {
        if (!m_sink_known) return;
        if (m_worker_table.empty()) {
            if (!m_queue.empty() && !m_warned_no_workers) {
                core::log_warn("no workers: ", m_queue.size(),
                               " batches wait for a worker to connect");
                m_warned_no_workers = true;
            }
            return;
        }
        while (!m_queue.empty()) {
            // The worker with the most free credits: idle workers first, busy ones when all are
            // busy.
            Worker* best = nullptr;
            const std::string* best_peer = nullptr;
            std::size_t best_free = 0;
            for (auto& [peer, w] : m_worker_table) {
                if (!w.configured) continue;
                const std::size_t free =
                    w.credits > w.assigned.size() ? w.credits - w.assigned.size() : 0;
                if (free > best_free) {
                    best = &w;
                    best_peer = &peer;
                    best_free = free;
                }
            }
            if (best == nullptr) return;
            const std::uint64_t seq = *m_queue.begin();
            m_queue.erase(m_queue.begin());
            Batch* b = find_batch(seq);
            if (b == nullptr || b->state != BatchState::queued) continue;
            zmq::message_t frames[2];
            frames[0].copy(b->readings);
            frames[1] = make_history(*b, best->history);
            const Header h{MsgType::task, m_job_id, seq, b->count, b->origin_us, {}};
            const std::string peer = *best_peer; // a failed send may forget the worker
            if (!send_worker(peer, h, frames)) {
                // It will not see this batch. (An unreachable worker is gone from the table.)
                if (const auto it = m_worker_table.find(peer); it != m_worker_table.end())
                    it->second.history.forget();
                m_queue.insert(seq);
                return;
            }
            b->state = BatchState::assigned;
            b->worker = *best_peer;
            b->since = t;
            best->assigned.insert(seq);
            m_counters.dispatched.inc();
        }
    }

    bool send_worker(const std::string& peer, const Header& h,
                     std::span<zmq::message_t> data = {}) {
        const zmq::message_t id(peer.data(), peer.size());
        const auto sent = core::send(m_workers, &id, core::encode_header(h), data);
        if (sent == core::Sent::unreachable) {
            forget_worker(peer, "is unreachable");
            return false;
        }
        return sent == core::Sent::ok;
    }

    void send_heartbeats(TimePoint) {
        std::vector<std::string> peers;
        for (const auto& [peer, w] : m_worker_table) peers.push_back(peer);
        for (const auto& peer : peers)
            send_worker(peer, Header{MsgType::heartbeat, m_job_id, 0, 0, 0, {}});
        if (m_sink_known) {
            send_sink(Header{MsgType::heartbeat, m_job_id, 0, 0, 0, {}});
            if (m_job_complete) send_sink_end();
        }
    }

    void finish_workers() {
        // Workers not started with --serve exit on job_end; a worker that misses it finds the
        // ventilator gone and keeps waiting for the next job, which is harmless.
        for (const auto& [peer, w] : m_worker_table) {
            const zmq::message_t id(peer.data(), peer.size());
            (void)core::send(m_workers, &id,
                             core::encode_header(Header{MsgType::job_end, m_job_id, 0, 0, 0, {}}));
        }
        // Wait (bounded) for each worker's goodbye, so job_end is known to have arrived.
        const TimePoint deadline = core::now() + core::seconds(2.0);
        std::set<std::string> waiting;
        for (const auto& [peer, w] : m_worker_table) waiting.insert(peer);
        while (!waiting.empty() && core::now() < deadline) {
            std::vector<zmq::pollitem_t> items = {{m_workers.handle(), 0, ZMQ_POLLIN, 0}};
            core::poll(items, core::Millis(50));
            while (core::receive(m_workers, m_frames, 1 + core::k_max_frames) ==
                   core::Received::message) {
                std::string error;
                if (m_frames.size() < 2) continue;
                const auto h = core::decode_header(
                    std::string_view(m_frames[1].data<char>(), m_frames[1].size()), error);
                if (h && h->type == MsgType::worker_bye) {
                    waiting.erase(id_of(m_frames[0]));
                    (void)core::send(
                        m_workers, &m_frames[0],
                        core::encode_header(Header{MsgType::worker_bye, m_job_id, 0, 0, 0, {}}));
                }
            }
        }
    }

    // ---- sink ----------------------------------------------------------------------------------
    bool receive_sink() {
        const auto got = core::receive(m_sink, m_frames, 1 + core::k_max_frames);
        if (got == core::Received::nothing) return false;
        Header h;
        if (!decode(got, 1, m_frames, h, "sink")) return true;
        const std::string peer = id_of(m_frames[0]);
        if (h.type == MsgType::sink_hello) {
            on_sink_hello(peer, h);
            return true;
        }
        if (!m_sink_known || peer != m_sink_peer || h.id != m_job_id) {
            malformed("sink", "message from an unknown sink");
            return true;
        }
        m_sink_seen = core::now();
        switch (h.type) {
        case MsgType::sink_commit:
            on_commit(h);
            break;
        case MsgType::sink_finished:
            on_commit(h);
            if (m_job_complete && h.seq == m_next_seq) {
                send_sink(Header{MsgType::finish_ack, m_job_id, 0, 0, 0, {}});
                core::log_info("sink wrote all ", h.count, " readings of the job");
                m_finished = true;
            }
            break;
        case MsgType::heartbeat:
            break;
        default:
            malformed("sink", "unexpected " + std::string(core::msg_type_name(h.type)));
        }
        return true;
    }

    void on_sink_hello(const std::string& peer, const Header& h) {
        if (m_sink_known && peer != m_sink_peer) {
            if (m_committed > 0) {
                core::log_error("a second sink (", h.name, ") tried to join job ", m_job_id,
                                " after output began; ignored");
                return;
            }
            core::log_warn("sink replaced by ", h.name, " before any output");
        }
        if (h.extra > static_cast<std::uint64_t>(core::OutputFormat::msgpack)) {
            malformed("sink", "unknown output format");
            return;
        }
        const bool first = !m_sink_known;
        m_sink_known = true;
        m_sink_peer = peer;
        m_sink_name = core::printable_name(h.name);
        m_sink_address = peer_address(m_frames[1]);
        m_sink_seen = core::now();
        m_config.format = static_cast<core::OutputFormat>(h.extra);
        send_sink(Header{MsgType::job_start, m_job_id, 0, 0, m_config.heavy > 0 ? 1u : 0u, {}});
        if (first) {
            core::log_info("sink ", h.name, " joined (", core::output_format_name(m_config.format),
                           " output)");
            // configure() may forget an unreachable worker: never while iterating the table.
            std::vector<std::string> peers;
            for (const auto& [wpeer, w] : m_worker_table) peers.push_back(wpeer);
            for (const auto& wpeer : peers) {
                const auto it = m_worker_table.find(wpeer);
                if (it != m_worker_table.end()) configure(wpeer, it->second);
            }
        }
        if (m_job_complete) send_sink_end();
    }

    void on_commit(const Header& h) {
        if (h.seq > m_next_seq) {
            malformed("sink", "commit beyond the last batch");
            return;
        }
        while (!m_batches.empty() && m_batches.front().seq < h.seq) {
            Batch& b = m_batches.front();
            if (b.state == BatchState::assigned) {
                auto it = m_worker_table.find(b.worker);
                if (it != m_worker_table.end()) it->second.assigned.erase(b.seq);
            }
            m_queue.erase(b.seq);
            m_history.release(b.sensors);
            m_batches.pop_front();
        }
        m_committed = std::max(m_committed, h.seq);
        m_records_written = std::max(m_records_written, h.count);
    }

    void send_sink_end() {
        if (!m_sink_known) return;
        send_sink(Header{MsgType::sink_end, m_job_id, m_next_seq, m_total_records, 0, {}});
    }

    void send_sink(const Header& h) {
        const zmq::message_t id(m_sink_peer.data(), m_sink_peer.size());
        (void)core::send(m_sink, &id, core::encode_header(h));
    }

    // ---- shared --------------------------------------------------------------------------------
    bool decode(core::Received got, std::size_t prefix, Frames& frames, Header& out,
                std::string_view where) {
        if (got == core::Received::oversized || frames.size() < prefix + 1) {
            malformed(where, "message with too many or too few frames");
            return false;
        }
        std::string error;
        const auto& f = frames[prefix];
        const auto h = core::decode_header(std::string_view(f.data<char>(), f.size()), error);
        if (!h) {
            malformed(where, error);
            return false;
        }
        if (frames.size() != prefix + 1 + core::data_frames(h->type)) {
            malformed(where,
                      std::string(core::msg_type_name(h->type)) + " with a wrong number of frames");
            return false;
        }
        out = *h;
        return true;
    }

    void malformed(std::string_view where, const std::string& what) {
        m_counters.malformed.inc();
        // Rate-limited: a flood of garbage must not become a flood of log lines.
        if (m_counters.malformed.value() <= 10 || m_counters.malformed.value() % 1000 == 0) {
            core::log_warn("dropped a malformed message on the ", where, " socket: ", what, " (",
                           m_counters.malformed.value(), " so far)");
        }
    }

    Batch* find_batch(std::uint64_t seq) {
        if (m_batches.empty() || seq < m_batches.front().seq) return nullptr;
        const std::uint64_t index = seq - m_batches.front().seq;
        return index < m_batches.size() ? &m_batches[index] : nullptr;
    }

    void publish_gauges() {
        std::size_t in_flight = 0;
        for (const auto& [peer, w] : m_worker_table) in_flight += w.assigned.size();
        m_gauges.workers.set(static_cast<double>(m_worker_table.size()));
        m_gauges.held.set(static_cast<double>(m_batches.size()));
        m_gauges.queued.set(static_cast<double>(m_queue.size()));
        m_gauges.in_flight.set(static_cast<double>(in_flight));
        m_gauges.written.set(static_cast<double>(m_records_written));
        m_gauges.streams.set(static_cast<double>(m_streams.size()));
        m_gauges.sensors.set(static_cast<double>(m_history.sensors()));
        m_gauges.history_values.set(static_cast<double>(m_history.values_held()));
    }

    // The live table of `sluice status` (served at /status): the job, the sink's position, every
    // worker with its address, work done, work in hand and rate, and every ingest stream.
    void publish_status_table(TimePoint t) {
        const double dt = std::max(core::elapsed_seconds(m_last_status, t), 1e-6);
        m_last_status = t;
        std::size_t in_flight = 0;
        for (auto& [peer, w] : m_worker_table) {
            in_flight += w.assigned.size();
            w.rate = static_cast<double>(w.records_done - w.records_at_last_status) / dt;
            w.records_at_last_status = w.records_done;
        }
        const std::uint64_t accepted = m_counters.records_in.value();
        const double input_rate = static_cast<double>(accepted - m_records_at_last_status) / dt;
        m_records_at_last_status = accepted;
        const char* state = m_finished                     ? "finished"
                            : m_draining                   ? "draining after a stop signal"
                            : m_job_complete               ? "input complete, finishing"
                            : m_options.expect_ingest == 0 ? "running (endless job)"
                                                           : "running";
        std::string out = "job " + std::to_string(m_job_id) + "  " + state + "  up " +
                          seconds_text(core::elapsed_seconds(m_started)) + "\n";
        out += "input  streams " + std::to_string(m_streams.size()) + " (" +
               std::to_string(m_streams_ended) + " ended), " + with_commas(accepted) +
               " readings accepted, " + with_commas(static_cast<std::uint64_t>(input_rate)) +
               "/s\n";
        out +=
            "sink   " +
            (m_sink_known ? m_sink_name + (m_sink_address.empty() ? "" : " at " + m_sink_address) +
                                ", " + with_commas(m_records_written) + " records written (" +
                                std::to_string(m_committed) + " batches), last heard " +
                                seconds_text(core::elapsed_seconds(m_sink_seen, t)) + " ago"
                          : std::string("not connected")) +
            "\n";
        out += "work   " + std::to_string(m_batches.size()) + " batches held, " +
               std::to_string(m_queue.size()) + " queued, " + std::to_string(in_flight) +
               " in flight; retries " + std::to_string(m_counters.redispatched.value()) +
               ", workers lost " + std::to_string(m_counters.workers_lost.value()) +
               ", malformed messages " + std::to_string(m_counters.malformed.value()) + "\n\n";
        std::vector<std::vector<std::string>> rows = {{"WORKER", "ADDRESS", "BATCHES DONE",
                                                       "RECORDS DONE", "IN FLIGHT", "CREDITS",
                                                       "RECORDS/S", "LAST HEARD"}};
        for (const auto& [peer, w] : m_worker_table) {
            rows.push_back({w.name, w.address.empty() ? "-" : w.address,
                            with_commas(w.batches_done), with_commas(w.records_done),
                            std::to_string(w.assigned.size()), std::to_string(w.credits),
                            with_commas(static_cast<std::uint64_t>(w.rate)),
                            seconds_text(core::elapsed_seconds(w.last_seen, t)) + " ago"});
        }
        append_table(out, rows);
        out += "(" + std::to_string(m_worker_table.size()) + " workers)\n\n";
        rows = {{"STREAM", "ADDRESS", "BATCHES", "READINGS", "STATE"}};
        for (const auto& [id, s] : m_streams) {
            rows.push_back({std::to_string(id), s.address.empty() ? "-" : s.address,
                            with_commas(s.next_batch), with_commas(s.records),
                            s.ended ? "ended" : "open"});
        }
        append_table(out, rows);
        out += "(" + std::to_string(m_streams.size()) + " ingest streams)\n";
        core::publish_status(std::move(out));
    }

    void log_status() {
        const double secs = core::elapsed_seconds(m_started);
        std::size_t in_flight = 0;
        for (const auto& [peer, w] : m_worker_table) in_flight += w.assigned.size();
        core::log_info(
            "status: in ", m_counters.records_in.value(), " readings (",
            m_counters.batches_in.value(), " batches, ",
            static_cast<std::uint64_t>(static_cast<double>(m_counters.records_in.value()) /
                                       std::max(secs, 1e-9)),
            "/s), written ", m_records_written, ", held ", m_batches.size(), ", queued ",
            m_queue.size(), ", in flight ", in_flight, ", workers ", m_worker_table.size(),
            ", retries ", m_counters.redispatched.value(), ", malformed ",
            m_counters.malformed.value());
    }

    void log_summary() {
        const double secs = core::elapsed_seconds(m_started);
        core::log_info(
            "summary: ", m_counters.records_in.value(), " readings in ",
            m_counters.batches_in.value(), " batches from ", m_streams.size(), " streams, ",
            m_records_written, " written, ",
            static_cast<std::uint64_t>(static_cast<double>(m_counters.records_in.value()) /
                                       std::max(secs, 1e-9)),
            " readings/s over ", secs, " s; dispatches ", m_counters.dispatched.value(),
            ", retries ", m_counters.redispatched.value(), ", workers lost ",
            m_counters.workers_lost.value(), ", tasks refused ", m_counters.refused.value(),
            ", window drops ", m_counters.window_drops.value(), ", rejected batches ",
            m_counters.rejected_batches.value(), ", malformed messages ",
            m_counters.malformed.value(),
            core::curve_enabled()
                ? ", refused CURVE clients " + std::to_string(core::curve_refused())
                : "");
        std::string per_worker;
        for (const auto& [name, done] : m_done_by_worker) {
            per_worker += (per_worker.empty() ? "" : ", ") + name + " " + std::to_string(done);
        }
        if (!per_worker.empty()) core::log_info("batches done per worker: ", per_worker);
    }

    const Options& m_options;
    zmq::socket_t m_ingest;
    zmq::socket_t m_workers;
    // Tasks (readings and history) for every credit of every worker may be in flight.
    core::IpcSendBuffer m_workers_buffer;
    zmq::socket_t m_sink;
    std::uint64_t m_job_id;
    core::JobConfig m_config;

    std::unordered_map<std::uint64_t, Stream> m_streams;
    std::uint32_t m_streams_ended = 0;
    std::deque<Batch> m_batches;     // every batch not yet committed, in order of seq
    std::set<std::uint64_t> m_queue; // batches waiting for a worker, oldest first
    std::uint64_t m_next_seq = 0;
    std::uint64_t m_total_records = 0;
    HistoryStore m_history;
    std::map<std::string, Worker> m_worker_table;
    std::map<std::string, std::uint64_t> m_done_by_worker; // by name, kept after a worker leaves

    bool m_sink_known = false;
    std::string m_sink_peer;
    std::string m_sink_name;
    std::string m_sink_address;
    TimePoint m_last_status{};
    std::uint64_t m_records_at_last_status = 0;
    TimePoint m_sink_seen{};
    std::uint64_t m_committed = 0;
    std::uint64_t m_records_written = 0;

    bool m_job_complete = false;
    bool m_finished = false;
    bool m_draining = false;
    bool m_warned_no_workers = false;
    TimePoint m_started{};
    Counters m_counters;
    Gauges m_gauges;

    Frames m_frames;
    std::vector<core::ReadingView> m_views;
    // The last history payload's size: in the steady state the next needs about as much. (Not the
    // largest: a worker's first task carries whole histories, its later ones far less.)
    std::size_t m_history_bytes = 0;
};

} // namespace

int run(const Options& options) {
    Ventilator v(options);
    return v.run();
}

int ventilator_main(int argc, char** argv) {
    Options options;
    auto app =
        core::make_app("sluice-ventilator",
                       "Sluice ventilator: fixes the order of readings, dispatches batches to "
                       "workers, re-dispatches lost work and ends the job.");
    add_options(*app, options);
    return core::run_node(*app, argc, argv, &options.node, [&] { return run(options); });
}

} // namespace sluice::ventilator
