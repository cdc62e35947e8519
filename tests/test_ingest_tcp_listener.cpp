#include "core/options.hpp"
#include "ingest/tcp_listener.hpp"

#include <arpa/inet.h>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

using sluice::core::InputFormat;
using sluice::core::Reading;
using sluice::ingest::DeadLetters;
using sluice::ingest::Pull;
using sluice::ingest::TcpListener;
using sluice::ingest::TcpListenerSpec;

namespace {

TcpListenerSpec spec_for_tests() {
    TcpListenerSpec spec;
    spec.endpoint = "tcp://127.0.0.1:0";
    spec.max_line = 1024;
    return spec;
}

// A blocking client socket connected to the listener.
class Client {
public:
    explicit Client(std::uint16_t port) {
        m_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_fd >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(port);
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(m_fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
    }
    ~Client() { close(); }
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    void send(std::string_view bytes) const {
        while (!bytes.empty()) {
            const ssize_t n = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            REQUIRE(n > 0);
            bytes.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    // Sends without blocking; returns how many bytes the socket took.
    std::size_t send_some(std::string_view bytes) const {
        const ssize_t n = ::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        return n > 0 ? static_cast<std::size_t>(n) : 0;
    }
    // True when the socket can take more bytes within `seconds`.
    [[nodiscard]] bool writable(double seconds) const {
        pollfd p{m_fd, POLLOUT, 0};
        return ::poll(&p, 1, static_cast<int>(seconds * 1000)) == 1;
    }
    // True when the listener closed the connection within `seconds`.
    [[nodiscard]] bool closed_by_listener(double seconds) const {
        pollfd p{m_fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(seconds * 1000)) != 1) return false;
        char c = 0;
        return ::recv(m_fd, &c, 1, MSG_DONTWAIT) <= 0;
    }
    void close() {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }

private:
    int m_fd = -1;
};

// Pulls until `done` holds, waiting on fd()/wake() between pulls; fails after 10 s.
void pull_until(TcpListener& source, std::vector<Reading>& out, DeadLetters& dead,
                const std::function<bool()>& done, std::size_t max = 1000) {
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
        REQUIRE(std::chrono::steady_clock::now() < give_up);
        const Pull r = source.pull(out, max, dead);
        REQUIRE(r != Pull::end);
        if (r == Pull::more || done()) continue;
        auto until = give_up;
        if (source.wake() != sluice::core::TimePoint{}) until = std::min(until, source.wake());
        const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        pollfd p{source.fd(), POLLIN, 0};
        ::poll(&p, 1, static_cast<int>(std::max<long long>(wait.count() + 1, 0)));
    }
}

std::string json_line(const std::string& sensor, int i) {
    return "{\"sensorId\":\"" + sensor + "\",\"timestamp\":" + std::to_string(i) +
           ",\"value\":" + std::to_string(i) + ".5}\n";
}

std::string json_lines(const std::string& sensor, int from, int to) {
    std::string s;
    for (int i = from; i < to; ++i) s += json_line(sensor, i);
    return s;
}

// The timestamps of `sensor`'s readings, in the order they were pulled.
std::vector<int> timestamps_of(const std::vector<Reading>& readings, const std::string& sensor) {
    std::vector<int> t;
    for (const Reading& r : readings)
        if (r.sensor_id == sensor) t.push_back(static_cast<int>(r.timestamp));
    return t;
}

std::vector<int> range(int from, int to) {
    std::vector<int> v;
    for (int i = from; i < to; ++i) v.push_back(i);
    return v;
}

} // namespace

TEST_CASE("a listener on port 0 binds a free port and has nothing to give yet", "[tcp]") {
    auto source = sluice::ingest::make_tcp_listener(spec_for_tests());
    DeadLetters dead("");
    std::vector<Reading> out;
    CHECK(source->bound_port() != 0);
    CHECK(source->fd() >= 0);
    CHECK(source->wake() == sluice::core::TimePoint{});
    CHECK(source->pull(out, 100, dead) == Pull::would_block);
    CHECK(out.empty());
    CHECK(source->describe().find("127.0.0.1:" + std::to_string(source->bound_port())) !=
          std::string::npos);
}

TEST_CASE("malformed --listen endpoints are usage errors", "[tcp]") {
    for (const char* bad : {"127.0.0.1:5000", "tcp://127.0.0.1", "tcp://:5000", "tcp://h:99999",
                            "tcp://h:12x", "udp://h:1"}) {
        TcpListenerSpec spec = spec_for_tests();
        spec.endpoint = bad;
        CAPTURE(bad);
        CHECK_THROWS_AS(sluice::ingest::make_tcp_listener(spec), sluice::core::UsageError);
    }
}

TEST_CASE("tcp://*:0 listens on every interface", "[tcp]") {
    TcpListenerSpec spec = spec_for_tests();
    spec.endpoint = "tcp://*:0";
    auto source = sluice::ingest::make_tcp_listener(spec);
    Client client(source->bound_port());
    client.send(json_lines("A", 0, 3));
    DeadLetters dead("");
    std::vector<Reading> out;
    pull_until(*source, out, dead, [&] { return out.size() == 3; });
}

TEST_CASE("the readings of one connection arrive in order, at most max per pull", "[tcp]") {
    auto source = sluice::ingest::make_tcp_listener(spec_for_tests());
    Client client(source->bound_port());
    client.send(json_lines("A", 0, 5000));
    DeadLetters dead("");
    std::vector<Reading> out;
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (out.size() < 5000) {
        REQUIRE(std::chrono::steady_clock::now() < give_up);
        const std::size_t before = out.size();
        const Pull r = source->pull(out, 7, dead);
        REQUIRE(r != Pull::end);
        REQUIRE(out.size() - before <= 7);
    }
    CHECK(timestamps_of(out, "A") == range(0, 5000));
    CHECK(out[10].value == 10.5);
    CHECK(out[10].unit == "C");
    CHECK(dead.count() == 0);
}

TEST_CASE("headerless CSV lines are sensorId,timestamp,value[,unit]", "[tcp]") {
    TcpListenerSpec spec = spec_for_tests();
    spec.format = InputFormat::csv;
    spec.unit = "K";
    auto source = sluice::ingest::make_tcp_listener(spec);
    Client client(source->bound_port());
    client.send("S1,1.5,2.5\r\nS2,2,3,F\n\nsensorId,timestamp,value\n");
    DeadLetters dead("");
    std::vector<Reading> out;
    pull_until(*source, out, dead, [&] { return out.size() == 2 && dead.count() == 1; });
    CHECK(out[0].sensor_id == "S1");
    CHECK(out[0].timestamp == 1.5);
    CHECK(out[0].unit == "K");
    CHECK(out[1].unit == "F");
}

TEST_CASE("a flooding connection does not starve a quiet one", "[tcp]") {
    auto source = sluice::ingest::make_tcp_listener(spec_for_tests());
    Client flood(source->bound_port());
    Client quiet(source->bound_port());
    const std::string lots = json_lines("F", 0, 20000);
    std::size_t sent = 0;
    for (std::size_t n = 0; sent < lots.size() && (n = flood.send_some(lots.substr(sent))) > 0;)
        sent += n;
    REQUIRE(sent > 100000);
    quiet.send(json_lines("Q", 0, 10));
    DeadLetters dead("");
    std::vector<Reading> out;
    pull_until(*source, out, dead, [&] { return timestamps_of(out, "Q").size() == 10; });
    // Each turn takes at most 128 lines of a connection: the quiet one's come within two pulls.
    CHECK(out.size() <= 2000);
    CHECK(timestamps_of(out, "Q") == range(0, 10));
    const auto flooded = timestamps_of(out, "F");
    CHECK(flooded == range(0, static_cast<int>(flooded.size())));
}

TEST_CASE("bad lines, binary garbage and NUL bytes are dead letters with their line numbers",
          "[tcp]") {
    const auto path = std::filesystem::temp_directory_path() /
                      ("sluice-tcp-dead-" + std::to_string(::getpid()) + ".jsonl");
    auto source = sluice::ingest::make_tcp_listener(spec_for_tests());
    std::vector<Reading> out;
    std::string peer;
    {
        DeadLetters dead(path.string());
        Client client(source->bound_port());
        std::string garbage = "\x01\xff\xfe{\"sensorId\":";
        garbage += '\0';
        garbage += "\"x\"}";
        client.send(json_line("A", 1) + "not json\n" + garbage + "\n" +
                    "{\"sensorId\":\"A\",\"timestamp\":2,\"value\":NaN}\n" + json_line("A", 3) +
                    std::string(50, '\0') + "\n");
        pull_until(*source, out, dead, [&] { return out.size() == 2 && dead.count() == 4; });
        dead.flush();
    }
    CHECK(timestamps_of(out, "A") == std::vector<int>{1, 3});
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    std::filesystem::remove(path);
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].find("\"source\":\"tcp:127.0.0.1:") != std::string::npos);
    CHECK(lines[0].find("\"line\":2,") != std::string::npos);
    CHECK(lines[1].find("\"line\":3,") != std::string::npos);
    CHECK(lines[1].find("\\u0000") != std::string::npos);
    CHECK(lines[3].find("\"line\":6,") != std::string::npos);
}

TEST_CASE("a connection closed mid-line leaves its partial line as a dead letter", "[tcp]") {
    auto source = sluice::ingest::make_tcp_listener(spec_for_tests());
    DeadLetters dead("");
    std::vector<Reading> out;
    {
        Client client(source->bound_port());
        client.send(json_line("A", 1) + "{\"sensorId\":\"A\",\"timest");
    }
    {
        Client never_newline(source->bound_port());
        never_newline.send("{\"sensorId\":\"B\",\"timestamp\":1,\"value\":1}");
    }
    pull_until(*source, out, dead, [&] { return source->stats().closed_by_peer == 2; });
    CHECK(out.size() == 1);
    CHECK(dead.count() == 2);
    CHECK(source->stats().open == 0);
}

TEST_CASE("a line longer than max_line closes the connection and keeps its earlier lines",
          "[tcp]") {
    TcpListenerSpec spec = spec_for_tests();
    spec.max_line = 200;
    auto source = sluice::ingest::make_tcp_listener(spec);
    DeadLetters dead("");
    std::vector<Reading> out;
    Client client(source->bound_port());
    client.send(json_lines("A", 0, 3) + std::string(300, 'x') + "\n" + json_line("A", 3));
    Client no_newline(source->bound_port());
    no_newline.send(json_line("B", 0) + std::string(5000, 'y'));
    pull_until(*source, out, dead, [&] { return source->stats().closed_long_line == 2; });
    CHECK(timestamps_of(out, "A") == range(0, 3));
    CHECK(timestamps_of(out, "B") == range(0, 1));
    CHECK(dead.count() == 2);
    CHECK(client.closed_by_listener(5));
    CHECK(no_newline.closed_by_listener(5));
    CHECK(source->stats().open == 0);
}

TEST_CASE("a connection that sends nothing for the idle timeout is closed", "[tcp]") {
    TcpListenerSpec spec = spec_for_tests();
    spec.idle_timeout = 0.2;
    auto source = sluice::ingest::make_tcp_listener(spec);
    DeadLetters dead("");
    std::vector<Reading> out;
    Client client(source->bound_port());
    client.send(json_line("A", 0) + "{\"sensorId\":");
    const auto sent = std::chrono::steady_clock::now();
    pull_until(*source, out, dead, [&] { return out.size() == 1; });
    CHECK(source->wake() != sluice::core::TimePoint{});
    CHECK(source->wake() <= sent + std::chrono::milliseconds(1000));
    pull_until(*source, out, dead, [&] { return source->stats().closed_idle == 1; });
    const double waited =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count();
    CHECK(waited >= 0.2);
    CHECK(waited < 5.0);
    CHECK(dead.count() == 1); // the unterminated line it held
    CHECK(client.closed_by_listener(5));
    CHECK(source->wake() == sluice::core::TimePoint{});
}

TEST_CASE("connections over max_connections are accepted and closed at once", "[tcp]") {
    TcpListenerSpec spec = spec_for_tests();
    spec.max_connections = 2;
    auto source = sluice::ingest::make_tcp_listener(spec);
    DeadLetters dead("");
    std::vector<Reading> out;
    auto first = std::make_unique<Client>(source->bound_port());
    Client second(source->bound_port());
    Client third(source->bound_port());
    pull_until(*source, out, dead, [&] { return source->stats().refused == 1; });
    CHECK(source->stats().open == 2);
    CHECK(third.closed_by_listener(5));
    first.reset();
    pull_until(*source, out, dead, [&] { return source->stats().open == 1; });
    Client fourth(source->bound_port());
    fourth.send(json_line("D", 1));
    pull_until(*source, out, dead, [&] { return out.size() == 1; });
    CHECK(source->stats().accepted == 3);
}

TEST_CASE("an unread connection is stalled by TCP flow control until pulled", "[tcp]") {
    auto source = sluice::ingest::make_tcp_listener(spec_for_tests());
    Client client(source->bound_port());
    const std::string chunk = json_lines("A", 0, 1000);
    std::size_t sent = 0;
    for (std::size_t n = 0; (n = client.send_some(chunk)) > 0;) sent += n;
    CHECK(sent < 64u * 1024 * 1024); // the socket buffers filled up: the sender is stalled
    CHECK(client.send_some(chunk) == 0);
    DeadLetters dead("");
    std::vector<Reading> out;
    const std::size_t sent_lines = sent / json_line("A", 500).size();
    pull_until(*source, out, dead, [&] { return out.size() >= sent_lines / 2; });
    CHECK(client.writable(5));
}

TEST_CASE("a thousand concurrent connections are all served", "[tcp]") {
    rlimit limit{};
    ::getrlimit(RLIMIT_NOFILE, &limit);
    if (limit.rlim_cur < 4096 && limit.rlim_max > limit.rlim_cur) {
        limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, 4096);
        ::setrlimit(RLIMIT_NOFILE, &limit);
    }
    const int connections = static_cast<int>(std::min<rlim_t>(1000, (limit.rlim_cur - 64) / 2));
    auto source = sluice::ingest::make_tcp_listener(spec_for_tests());
    DeadLetters dead("");
    std::vector<Reading> out;
    std::vector<std::unique_ptr<Client>> clients;
    for (int i = 0; i < connections; ++i) {
        clients.push_back(std::make_unique<Client>(source->bound_port()));
        clients.back()->send(json_lines("C" + std::to_string(i), 0, 20));
        if (i % 100 == 99) (void)source->pull(out, 100000, dead); // keep the backlog short
    }
    pull_until(*source, out, dead,
               [&] { return out.size() == static_cast<std::size_t>(connections) * 20; });
    CHECK(source->stats().accepted == static_cast<std::uint64_t>(connections));
    for (int i = 0; i < connections; i += 97)
        CHECK(timestamps_of(out, "C" + std::to_string(i)) == range(0, 20));
    clients.clear();
    pull_until(*source, out, dead, [&] { return source->stats().open == 0; });
    CHECK(dead.count() == 0);
}
