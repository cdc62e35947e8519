// Process-wide metrics in the Prometheus text format (SPEC §10), served at /metrics over HTTP by
// `--metrics HOST:PORT`. Counters, gauges and histograms are lock-free atomics: the node's thread
// updates them (per batch, never per record), the HTTP thread reads them.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace sluice::core {

class Counter {
public:
    void inc(std::uint64_t n = 1) noexcept { m_value.fetch_add(n, std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t value() const noexcept {
        return m_value.load(std::memory_order_relaxed);
    }

private:
    std::atomic<std::uint64_t> m_value{0};
};

class Gauge {
public:
    void set(double v) noexcept { m_value.store(v, std::memory_order_relaxed); }
    [[nodiscard]] double value() const noexcept { return m_value.load(std::memory_order_relaxed); }

private:
    std::atomic<double> m_value{0.0};
};

// Cumulative buckets with upper bounds `bounds` (ascending) plus +Inf.
class Histogram {
public:
    explicit Histogram(std::vector<double> bounds);
    void observe(double v, std::uint64_t n = 1) noexcept;
    [[nodiscard]] const std::vector<double>& bounds() const noexcept { return m_bounds; }
    [[nodiscard]] std::uint64_t bucket(std::size_t i) const noexcept {
        return m_buckets[i].load(std::memory_order_relaxed);
    }
    [[nodiscard]] std::uint64_t count() const noexcept {
        return m_count.load(std::memory_order_relaxed);
    }
    [[nodiscard]] double sum() const noexcept { return m_sum.load(std::memory_order_relaxed); }

private:
    std::vector<double> m_bounds;
    std::unique_ptr<std::atomic<std::uint64_t>[]> m_buckets; // non-cumulative, bounds.size() + 1
    std::atomic<std::uint64_t> m_count{0};
    std::atomic<double> m_sum{0.0};
};

// Percentiles of microsecond values in fixed memory: 16 linear sub-buckets per power of two, so
// a percentile is within about 6% of the true value. Single-threaded.
class Percentiles {
public:
    void record(std::uint64_t micros, std::uint64_t n = 1) noexcept;
    // The value below which a fraction `q` (0..1) of the recorded values lie; 0 when empty.
    [[nodiscard]] std::uint64_t at(double q) const noexcept;
    [[nodiscard]] std::uint64_t count() const noexcept { return m_count; }

private:
    static constexpr int k_sub = 16;
    std::uint64_t m_buckets[64 * k_sub] = {};
    std::uint64_t m_count = 0;
};

class Registry {
public:
    Registry();
    ~Registry();
    Registry(const Registry&) = delete;
    Registry& operator=(const Registry&) = delete;

    // Registers a metric once (name and labels identify it; `labels` is the inside of {...}, e.g.
    // `worker="w1"`) and returns it; the reference stays valid for the life of the process.
    Counter& counter(const std::string& name, const std::string& help,
                     const std::string& labels = {});
    Gauge& gauge(const std::string& name, const std::string& help, const std::string& labels = {});
    Histogram& histogram(const std::string& name, const std::string& help,
                         std::vector<double> bounds);

    // Every metric in the text exposition format 0.0.4, with role="<role>" added to its labels.
    [[nodiscard]] std::string render(const std::string& role) const;

private:
    struct Entry;
    Entry& find_or_add(const std::string& name, const std::string& help, const std::string& labels,
                       int kind);

    mutable std::mutex m_mutex; // guards the list, never the values
    std::deque<std::unique_ptr<Entry>> m_entries;
};

[[nodiscard]] Registry& metrics();

// sluice_records_total: the records a node passed on — read (ingest), accepted (ventilator),
// computed (worker), written (sink) — one name told apart by the role label.
[[nodiscard]] Counter& records_counter();
// sluice_malformed_messages_total: malformed or foreign messages dropped.
[[nodiscard]] Counter& malformed_counter();
// Requests to the --metrics endpoint that it refused (a 4xx/5xx status of its own; not 404).
[[nodiscard]] Counter& http_refused_counter();

// The node's status table (only the ventilator has one), replaced whole by the node's thread and
// served at /status; empty = none.
void publish_status(std::string text);
[[nodiscard]] std::string published_status();

// Serves GET /metrics (and GET /status) on "HOST:PORT" (port 0 picks a free one) from its own
// thread until destroyed. Throws std::runtime_error when the address cannot be bound.
class MetricsServer {
public:
    MetricsServer(const std::string& host_port, std::string role);
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;
    [[nodiscard]] int port() const noexcept { return m_port; }

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
    int m_port = 0;
};

} // namespace sluice::core
