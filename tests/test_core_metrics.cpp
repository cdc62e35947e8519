#include "core/http.hpp"
#include "core/metrics.hpp"

#include <atomic>
#include <catch2/catch.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <string>
#include <thread>

using namespace sluice::core;

TEST_CASE("the registry renders counters, gauges and histograms in the Prometheus text format",
          "[metrics]") {
    Registry r;
    r.counter("t_events_total", "events seen").inc(41);
    r.counter("t_events_total", "events seen").inc(); // the same metric, found again
    r.gauge("t_depth", "queue depth").set(7.5);
    auto& h = r.histogram("t_latency_seconds", "latency", {0.01, 0.1});
    h.observe(0.005);
    h.observe(0.05, 2);
    h.observe(5.0);
    const std::string text = r.render("sink");
    CHECK(text.find("# HELP t_events_total events seen\n# TYPE t_events_total counter\n"
                    "t_events_total{role=\"sink\"} 42\n") != std::string::npos);
    CHECK(text.find("# TYPE t_depth gauge\nt_depth{role=\"sink\"} 7.5\n") != std::string::npos);
    CHECK(text.find("t_latency_seconds_bucket{role=\"sink\",le=\"0.01\"} 1\n") !=
          std::string::npos);
    CHECK(text.find("t_latency_seconds_bucket{role=\"sink\",le=\"0.1\"} 3\n") != std::string::npos);
    CHECK(text.find("t_latency_seconds_bucket{role=\"sink\",le=\"+Inf\"} 4\n") !=
          std::string::npos);
    CHECK(text.find("t_latency_seconds_sum{role=\"sink\"} 5.105\n") != std::string::npos);
    CHECK(text.find("t_latency_seconds_count{role=\"sink\"} 4\n") != std::string::npos);
}

TEST_CASE("labelled metrics of one name share one HELP and TYPE header", "[metrics]") {
    Registry r;
    r.counter("t_done_total", "done", "worker=\"a\"").inc(1);
    r.counter("t_done_total", "done", "worker=\"b\"").inc(2);
    const std::string text = r.render("ventilator");
    CHECK(text == "# HELP t_done_total done\n# TYPE t_done_total counter\n"
                  "t_done_total{role=\"ventilator\",worker=\"a\"} 1\n"
                  "t_done_total{role=\"ventilator\",worker=\"b\"} 2\n");
}

TEST_CASE("percentiles are within the bucket resolution of the true value", "[metrics]") {
    Percentiles p;
    CHECK(p.at(0.5) == 0);
    for (std::uint64_t v = 1; v <= 10000; ++v) p.record(v);
    CHECK(p.count() == 10000);
    // True p50 = 5000, p99 = 9900: 16 sub-buckets per power of two give at most 1/16 below.
    CHECK(p.at(0.5) <= 5000);
    CHECK(p.at(0.5) >= 5000 * 15 / 16);
    CHECK(p.at(0.99) <= 9900);
    CHECK(p.at(0.99) >= 9900 * 15 / 16);
    CHECK(p.at(0.0) == 1);
    Percentiles small;
    small.record(3, 5);
    CHECK(small.at(0.5) == 3); // values below 16 are exact
}

TEST_CASE("the metrics server answers GET /metrics with the registry's text", "[metrics]") {
    records_counter().inc(3);
    MetricsServer server("127.0.0.1:0", "worker");
    REQUIRE(server.port() > 0);
    const auto refused_before = http_refused_counter().value();
    // The client is checked against hand-written answers in test_core_http.cpp.
    const auto res = http::get("127.0.0.1", server.port(), "/metrics", std::chrono::seconds(10));
    REQUIRE(res.error.empty());
    CHECK(res.status == 200);
    CHECK(res.body.find("sluice_records_total{role=\"worker\"}") != std::string::npos);
    const auto other = http::get("127.0.0.1", server.port(), "/other", std::chrono::seconds(10));
    CHECK(other.status == 404);
    const auto status = http::get("127.0.0.1", server.port(), "/status", std::chrono::seconds(10));
    CHECK(status.status == 404);
    CHECK(status.body.find("the worker has no status table") != std::string::npos);
    // A refused request is counted in the node's metrics (a path with a space makes the request
    // line malformed); the served ones above, 404s included, were not.
    const auto before = http_refused_counter().value();
    CHECK(before == refused_before);
    CHECK(http::get("127.0.0.1", server.port(), "/a b", std::chrono::seconds(10)).status == 400);
    CHECK(http_refused_counter().value() == before + 1);
    const auto after = http::get("127.0.0.1", server.port(), "/metrics", std::chrono::seconds(10));
    CHECK(after.body.find("sluice_http_requests_refused_total{role=\"worker\"} " +
                          std::to_string(before + 1) + "\n") != std::string::npos);
}

TEST_CASE("a metrics server destroyed as soon as it is made still ends", "[metrics][threads]") {
    // A node whose job ends within milliseconds of its start (a tiny input) destroys its server
    // before the server's thread has begun to poll (cpp-httplib 0.11, used before, would then
    // listen for ever). 100 servers are made and destroyed at once on
    // a thread that reports when all are gone; the test waits for that with a bound, so that a
    // hang fails the test instead of stalling the suite. The promise is shared with the thread,
    // which outlives this test case if it hangs.
    const auto all_done = std::make_shared<std::promise<void>>();
    auto done = all_done->get_future();
    std::thread([all_done] {
        for (int i = 0; i < 100; ++i) {
            const MetricsServer server("127.0.0.1:0", "ingest");
        }
        all_done->set_value();
    }).detach();
    REQUIRE(done.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
}

TEST_CASE("a bad --metrics address is refused with a message naming it", "[metrics]") {
    CHECK_THROWS_WITH(MetricsServer("localhost", "x"),
                      Catch::Contains("'localhost' is not HOST:PORT"));
    CHECK_THROWS_WITH(MetricsServer("127.0.0.1:99999", "x"), Catch::Contains("not HOST:PORT"));
}

// The node's thread updates metrics while the HTTP thread renders them: run under TSan in CI.
// Halfway through, the writer waits until a render has begun after it got there, so renders
// overlap the writes however the threads are scheduled (on a loaded host the writer could
// otherwise finish before the first render). Every render must show the counter at most
// k_updates and never below what an earlier render showed.
TEST_CASE("metrics updated by one thread while another renders them stay exact",
          "[metrics][threads]") {
    Registry r;
    auto& c = r.counter("t_n_total", "n");
    auto& g = r.gauge("t_g", "g");
    auto& h = r.histogram("t_h", "h", {1.0});
    constexpr int k_updates = 200000;
    std::atomic<bool> halfway{false};
    std::atomic<bool> seen_halfway{false};
    std::thread writer([&] {
        for (int i = 0; i < k_updates; ++i) {
            if (i == k_updates / 2) {
                halfway.store(true);
                seen_halfway.wait(false);
            }
            c.inc();
            g.set(i);
            h.observe(0.5);
        }
    });
    // However this test ends (a failed REQUIRE throws), the writer is released and joined.
    struct ReleaseAndJoin {
        std::atomic<bool>& seen;
        std::thread& thread;
        ~ReleaseAndJoin() {
            seen.store(true);
            seen.notify_one();
            if (thread.joinable()) thread.join();
        }
    } release_writer{seen_halfway, writer};
    const std::string key = "t_n_total{role=\"x\"} ";
    std::uint64_t last = 0;
    while (c.value() < k_updates) {
        const bool after_halfway = halfway.load();
        const std::string text = r.render("x");
        const std::size_t at = text.find(key);
        REQUIRE(at != std::string::npos);
        std::uint64_t shown = 0;
        const char* const first = text.data() + at + key.size();
        const auto parsed = std::from_chars(first, text.data() + text.size(), shown);
        REQUIRE(parsed.ec == std::errc{});
        REQUIRE(shown >= last);
        REQUIRE(shown <= std::uint64_t{k_updates});
        last = shown;
        if (after_halfway && !seen_halfway.load()) {
            seen_halfway.store(true);
            seen_halfway.notify_one();
        }
    }
    writer.join();
    CHECK(c.value() == k_updates);
    CHECK(h.count() == k_updates);
    CHECK(h.sum() == Approx(0.5 * k_updates));
}
