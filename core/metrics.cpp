#include "core/metrics.hpp"

#include "core/http.hpp"

#include <atomic>
#include <charconv>
#include <optional>
#include <stdexcept>
#include <variant>

namespace sluice::core {

Histogram::Histogram(std::vector<double> bounds)
    : m_bounds(std::move(bounds)), m_buckets(new std::atomic<std::uint64_t>[m_bounds.size() + 1]) {
    for (std::size_t i = 0; i <= m_bounds.size(); ++i) m_buckets[i].store(0);
}

void Histogram::observe(double v, std::uint64_t n) noexcept {
    std::size_t i = 0;
    while (i < m_bounds.size() && v > m_bounds[i]) ++i;
    m_buckets[i].fetch_add(n, std::memory_order_relaxed);
    m_count.fetch_add(n, std::memory_order_relaxed);
    double sum = m_sum.load(std::memory_order_relaxed);
    while (!m_sum.compare_exchange_weak(sum, sum + v * static_cast<double>(n),
                                        std::memory_order_relaxed)) {
    }
}

namespace {
constexpr int k_sub_bits = 4; // 16 sub-buckets

std::size_t bucket_of(std::uint64_t v) noexcept {
    if (v < 16) return static_cast<std::size_t>(v);
    const int octave = 63 - __builtin_clzll(v); // >= 4
    const auto sub = static_cast<std::size_t>((v >> (octave - k_sub_bits)) & 15);
    return static_cast<std::size_t>(octave - k_sub_bits + 1) * 16 + sub;
}

std::uint64_t lower_bound_of(std::size_t bucket) noexcept {
    if (bucket < 16) return bucket;
    const int octave = static_cast<int>(bucket / 16) + k_sub_bits - 1;
    return (std::uint64_t{1} << octave) |
           (static_cast<std::uint64_t>(bucket % 16) << (octave - k_sub_bits));
}
} // namespace

void Percentiles::record(std::uint64_t micros, std::uint64_t n) noexcept {
    m_buckets[bucket_of(micros)] += n;
    m_count += n;
}

std::uint64_t Percentiles::at(double q) const noexcept {
    if (m_count == 0) return 0;
    const auto rank = static_cast<std::uint64_t>(q * static_cast<double>(m_count - 1)) + 1;
    std::uint64_t seen = 0;
    for (std::size_t b = 0; b < std::size(m_buckets); ++b) {
        seen += m_buckets[b];
        if (seen >= rank) return lower_bound_of(b);
    }
    return lower_bound_of(std::size(m_buckets) - 1);
}

struct Registry::Entry {
    std::string name;
    std::string help;
    std::string labels;
    int kind = 0; // 0 counter, 1 gauge, 2 histogram
    Counter counter;
    Gauge gauge;
    std::unique_ptr<Histogram> histogram;
};

Registry::Registry() = default;
Registry::~Registry() = default;

Registry::Entry& Registry::find_or_add(const std::string& name, const std::string& help,
                                       const std::string& labels, int kind) {
    std::lock_guard lock(m_mutex);
    for (auto& e : m_entries) {
        if (e->name == name && e->labels == labels) return *e;
    }
    auto e = std::make_unique<Entry>();
    e->name = name;
    e->help = help;
    e->labels = labels;
    e->kind = kind;
    m_entries.push_back(std::move(e));
    return *m_entries.back();
}

Counter& Registry::counter(const std::string& name, const std::string& help,
                           const std::string& labels) {
    return find_or_add(name, help, labels, 0).counter;
}

Gauge& Registry::gauge(const std::string& name, const std::string& help,
                       const std::string& labels) {
    return find_or_add(name, help, labels, 1).gauge;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help,
                               std::vector<double> bounds) {
    Entry& e = find_or_add(name, help, {}, 2);
    std::lock_guard lock(m_mutex);
    if (!e.histogram) e.histogram = std::make_unique<Histogram>(std::move(bounds));
    return *e.histogram;
}

namespace {

void append_number(std::string& out, double v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

std::string label_set(const std::string& role, const std::string& labels,
                      const std::string& extra = {}) {
    std::string s = "{role=\"" + role + "\"";
    if (!labels.empty()) s += "," + labels;
    if (!extra.empty()) s += "," + extra;
    return s + "}";
}

} // namespace

std::string Registry::render(const std::string& role) const {
    std::lock_guard lock(m_mutex);
    std::string out;
    std::string last_name;
    static constexpr const char* k_types[] = {"counter", "gauge", "histogram"};
    for (const auto& e : m_entries) {
        if (e->name != last_name) {
            out += "# HELP " + e->name + " " + e->help + "\n# TYPE " + e->name + " " +
                   k_types[e->kind] + "\n";
            last_name = e->name;
        }
        if (e->kind == 0) {
            out += e->name + label_set(role, e->labels) + " " + std::to_string(e->counter.value()) +
                   "\n";
        } else if (e->kind == 1) {
            out += e->name + label_set(role, e->labels) + " ";
            append_number(out, e->gauge.value());
            out += "\n";
        } else if (e->histogram) {
            const Histogram& h = *e->histogram;
            std::uint64_t cumulative = 0;
            for (std::size_t i = 0; i <= h.bounds().size(); ++i) {
                cumulative += h.bucket(i);
                std::string le = "le=\"";
                if (i < h.bounds().size()) {
                    append_number(le, h.bounds()[i]);
                } else {
                    le += "+Inf";
                }
                le += "\"";
                out += e->name + "_bucket" + label_set(role, e->labels, le) + " " +
                       std::to_string(cumulative) + "\n";
            }
            out += e->name + "_sum" + label_set(role, e->labels) + " ";
            append_number(out, h.sum());
            out += "\n" + e->name + "_count" + label_set(role, e->labels) + " " +
                   std::to_string(h.count()) + "\n";
        }
    }
    return out;
}

Registry& metrics() {
    static Registry registry;
    return registry;
}

Counter& records_counter() {
    return metrics().counter("sluice_records_total",
                             "records passed on: read (ingest), accepted (ventilator), computed "
                             "(worker), written (sink)");
}

Counter& http_refused_counter() {
    return metrics().counter("sluice_http_requests_refused_total",
                             "requests to --metrics refused: malformed, too long, or not GET/HEAD");
}

Counter& malformed_counter() {
    return metrics().counter("sluice_malformed_messages_total",
                             "malformed or foreign messages dropped");
}

namespace {

struct StatusSlot {
    std::mutex mutex;
    std::string text;
};

StatusSlot& status_slot() {
    static StatusSlot slot;
    return slot;
}

} // namespace

void publish_status(std::string text) {
    StatusSlot& slot = status_slot();
    std::lock_guard lock(slot.mutex);
    slot.text.swap(text);
}

std::string published_status() {
    StatusSlot& slot = status_slot();
    std::lock_guard lock(slot.mutex);
    return slot.text;
}

struct MetricsServer::Impl {
    std::optional<http::Server> server;
};

MetricsServer::MetricsServer(const std::string& host_port, std::string role)
    : m_impl(std::make_unique<Impl>()) {
    const auto colon = host_port.rfind(':');
    int port = -1;
    if (colon != std::string::npos) {
        const char* first = host_port.data() + colon + 1;
        const char* last = host_port.data() + host_port.size();
        const auto [end, ec] = std::from_chars(first, last, port);
        if (ec != std::errc{} || end != last || port < 0 || port > 65535) port = -1;
    }
    if (port < 0) throw std::runtime_error("--metrics '" + host_port + "' is not HOST:PORT");
    std::string host = host_port.substr(0, colon);
    if (host.empty() || host == "*") host = "0.0.0.0";
    http_refused_counter().inc(0); // shown from the start, as 0
    try {
        m_impl->server.emplace(
            host, port,
            [role = std::move(role)](std::string_view path) {
                if (path == "/metrics")
                    return http::Response{200, "text/plain; version=0.0.4", metrics().render(role)};
                if (path == "/status") {
                    std::string text = published_status();
                    if (text.empty()) {
                        return http::Response{404, "text/plain; charset=utf-8",
                                              "the " + role +
                                                  " has no status table; ask the ventilator's "
                                                  "--metrics address\n"};
                    }
                    return http::Response{200, "text/plain; charset=utf-8", std::move(text)};
                }
                return http::Response{404, "text/plain; charset=utf-8",
                                      "not found; the paths are /metrics and /status\n"};
            },
            std::chrono::seconds(5), [](int) { http_refused_counter().inc(); });
    } catch (const std::runtime_error& e) {
        throw std::runtime_error(std::string("--metrics: ") + e.what());
    }
    m_port = m_impl->server->port();
}

MetricsServer::~MetricsServer() = default;

} // namespace sluice::core
