// The HTTP server is driven here by raw sockets that send bytes written out by hand, and the
// client talks to a raw listener that answers with bytes written out by hand: neither half is
// checked against the other.
#include "core/http.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <chrono>
#include <mutex>
#include <netinet/in.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace sluice::core;
using namespace std::chrono_literals;

namespace {

// A connected TCP socket to 127.0.0.1:port, closed when it goes. Every read waits at most 30 s,
// so that a server that never answers fails the test rather than hanging the suite.
class RawClient {
public:
    explicit RawClient(int port) : m_fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        REQUIRE(m_fd >= 0);
        const timeval bound{30, 0};
        ::setsockopt(m_fd, SOL_SOCKET, SO_RCVTIMEO, &bound, sizeof bound);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<std::uint16_t>(port));
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::connect(m_fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
    }
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;
    ~RawClient() { ::close(m_fd); }
    void send(std::string_view bytes) const {
        REQUIRE(::send(m_fd, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
                static_cast<ssize_t>(bytes.size()));
    }
    // Everything until the server closes; throws if 30 s pass first.
    [[nodiscard]] std::string read_all() const {
        std::string out;
        std::array<char, 4096> buf;
        while (true) {
            const ssize_t n = ::recv(m_fd, buf.data(), buf.size(), 0);
            if (n == 0) return out;
            if (n < 0) throw std::runtime_error("no end of the answer within 30 s");
            out.append(buf.data(), static_cast<std::size_t>(n));
        }
    }
    // True when the server has neither sent anything nor closed the connection.
    [[nodiscard]] bool quiet() const {
        pollfd p{m_fd, POLLIN, 0};
        return ::poll(&p, 1, 0) == 0;
    }

private:
    int m_fd;
};

std::string exchange(int port, std::string_view request) {
    const RawClient c(port);
    c.send(request);
    return c.read_all();
}

http::Response hello(std::string_view path) {
    if (path == "/hello") return http::Response{200, "text/plain", "hello"};
    if (path == "/boom") throw std::runtime_error("the handler failed");
    return http::Response{404, "text/plain", "no\n"};
}

// A listener on a free loopback port whose one connection, once accepted and its request read,
// is answered with `answer` and closed; with no answer, the connection is never accepted (the
// kernel completes it in the backlog) and stays open until the test ends.
class CannedServer {
public:
    explicit CannedServer(std::optional<std::string> answer) : m_answer(std::move(answer)) {
        m_listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(m_listener >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(m_listener, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
        REQUIRE(::listen(m_listener, 4) == 0);
        socklen_t length = sizeof a;
        REQUIRE(::getsockname(m_listener, reinterpret_cast<sockaddr*>(&a), &length) == 0);
        m_port = ntohs(a.sin_port);
        if (!m_answer) return;
        m_thread = std::thread([this] {
            const int fd = ::accept4(m_listener, nullptr, nullptr, SOCK_CLOEXEC);
            if (fd < 0) return;
            std::array<char, 4096> buf;
            while (m_request.find("\r\n\r\n") == std::string::npos) {
                const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
                if (n <= 0) break;
                m_request.append(buf.data(), static_cast<std::size_t>(n));
            }
            ::send(fd, m_answer->data(), m_answer->size(), MSG_NOSIGNAL);
            ::close(fd);
        });
    }
    CannedServer(const CannedServer&) = delete;
    CannedServer& operator=(const CannedServer&) = delete;
    ~CannedServer() {
        if (m_thread.joinable()) m_thread.join();
        ::close(m_listener);
    }
    [[nodiscard]] int port() const noexcept { return m_port; }
    // What the client sent (read once the client has its answer).
    [[nodiscard]] std::string request() {
        if (m_thread.joinable()) m_thread.join();
        return m_request;
    }

private:
    std::optional<std::string> m_answer;
    std::string m_request;
    int m_listener = -1;
    int m_port = 0;
    std::thread m_thread;
};

} // namespace

TEST_CASE("a request's head is parsed into its method and path, or refused with a status",
          "[http]") {
    using http::Request;
    using http::RequestError;
    const auto path_of = [](std::string_view head) {
        const auto r = http::parse_request(head);
        return std::holds_alternative<Request>(r) ? std::get<Request>(r).path : "<refused>";
    };
    const auto status_of = [](std::string_view head) {
        const auto r = http::parse_request(head);
        return std::holds_alternative<RequestError>(r) ? std::get<RequestError>(r).status : 0;
    };
    CHECK(path_of("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n") == "/metrics");
    CHECK(path_of("GET /metrics?name=x#top HTTP/1.0\r\n\r\n") == "/metrics");
    CHECK(path_of("HEAD /status HTTP/1.1\n\n") == "/status");
    CHECK(std::get<Request>(http::parse_request("HEAD / HTTP/1.1\r\n\r\n")).method == "HEAD");
    CHECK(status_of("POST /metrics HTTP/1.1\r\n\r\n") == 405);
    CHECK(status_of("DELETE / HTTP/1.1\r\n\r\n") == 405);
    CHECK(status_of("GET /metrics HTTP/2.0\r\n\r\n") == 505);
    CHECK(status_of("GET /metrics\r\n\r\n") == 400);
    CHECK(status_of("GET  /metrics HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("GET /metrics HTTP/1.1 extra\r\n\r\n") == 400);
    CHECK(status_of("GET metrics HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("GET http://host/metrics HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("G(T /metrics HTTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("GET /metrics HTTP/1.10\r\n\r\n") == 400);
    CHECK(status_of("GET /metrics FTP/1.1\r\n\r\n") == 400);
    CHECK(status_of("") == 400);
    CHECK(status_of(std::string("GET /\0 HTTP/1.1\r\n\r\n", 20)) == 0); // a path, if an odd one
}

TEST_CASE("the server answers GET with the handler's response, byte for byte", "[http]") {
    const http::Server server("127.0.0.1", 0, hello);
    REQUIRE(server.port() > 0);
    CHECK(exchange(server.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n") ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
          "Connection: close\r\n\r\nhello");
    CHECK(exchange(server.port(), "HEAD /hello HTTP/1.1\r\n\r\n") ==
          "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n"
          "Connection: close\r\n\r\n");
    CHECK(exchange(server.port(), "GET /other HTTP/1.0\n\n") ==
          "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
          "Connection: close\r\n\r\nno\n");
}

// [threads]: on_refused runs on the server's thread and the test reads what it recorded (TSan).
TEST_CASE("the server refuses bad requests with a status and goes on serving", "[http][threads]") {
    std::mutex mutex; // on_refused runs on the server's thread
    std::vector<int> refused;
    const http::Server server("127.0.0.1", 0, hello, std::chrono::seconds(5), [&](int status) {
        const std::lock_guard lock(mutex);
        refused.push_back(status);
    });
    CHECK(exchange(server.port(), "POST /hello HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc") ==
          "HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain; charset=utf-8\r\n"
          "Content-Length: 29\r\nConnection: close\r\nAllow: GET, HEAD\r\n\r\n"
          "only GET and HEAD are served\n");
    CHECK(exchange(server.port(), "\x16\x03\x01garbage\r\n\r\n").rfind("HTTP/1.1 400 ", 0) == 0);
    CHECK(exchange(server.port(), std::string(9000, 'A')).rfind("HTTP/1.1 431 ", 0) == 0);
    const std::string failed = exchange(server.port(), "GET /boom HTTP/1.1\r\n\r\n");
    CHECK(failed.rfind("HTTP/1.1 500 ", 0) == 0);
    CHECK(failed.find("\r\n\r\nthe handler failed\n") != std::string::npos);
    // A client that goes before its request is whole harms nothing.
    {
        const RawClient gone(server.port());
        gone.send("GET /hel");
    }
    CHECK(exchange(server.port(), "GET /hello HTTP/1.1\r\n\r\n").ends_with("\r\n\r\nhello"));
    // Each refusal was reported, once, before its answer was sent; a handler's failure (500) and
    // served requests are not refusals.
    const std::lock_guard lock(mutex);
    CHECK(refused == std::vector<int>{405, 400, 431});
}

TEST_CASE("a silent client delays nobody else, and is let go at its deadline", "[http]") {
    SECTION("others are served while it holds its connection") {
        const http::Server server("127.0.0.1", 0, hello, std::chrono::hours(1));
        const RawClient silent(server.port());
        silent.send("GET /hel"); // and nothing more
        CHECK(exchange(server.port(), "GET /hello HTTP/1.1\r\n\r\n").ends_with("hello"));
        CHECK(silent.quiet()); // still open: it was not closed to make room for the other
    }
    SECTION("its connection is closed once the deadline passes") {
        const http::Server server("127.0.0.1", 0, hello, 50ms);
        const RawClient silent(server.port());
        CHECK(silent.read_all().empty()); // the server closed it, well within the 30 s bound
    }
}

TEST_CASE("a port already taken is refused with a message naming the address", "[http]") {
    const http::Server first("127.0.0.1", 0, hello);
    const std::string where = "127.0.0.1:" + std::to_string(first.port());
    CHECK_THROWS_WITH(http::Server("127.0.0.1", first.port(), hello),
                      Catch::Contains("cannot serve on '" + where + "'") &&
                          Catch::Contains("Address already in use"));
    // A name longer than DNS allows (253 characters): the resolver refuses it without sending a
    // query anywhere (strace of getaddrinfo shows no socket but netlink and nscd's), so the test
    // stays on this host.
    const std::string too_long(300, 'a');
    CHECK_THROWS_WITH(http::Server(too_long, 0, hello),
                      Catch::Contains("cannot resolve '" + too_long + "'"));
}

TEST_CASE("the client sends a GET and reads the status and body of the answer", "[http]") {
    CannedServer canned("HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsensor");
    const auto r = http::get("127.0.0.1", canned.port(), "/status", 10s);
    CHECK(r.error.empty());
    CHECK(r.status == 200);
    CHECK(r.body == "sensor");
    CHECK(canned.request() == "GET /status HTTP/1.1\r\nHost: 127.0.0.1:" +
                                  std::to_string(canned.port()) + "\r\nConnection: close\r\n\r\n");
}

TEST_CASE("the client reports what went wrong instead of an answer", "[http]") {
    SECTION("a status other than 200 is an answer") {
        CannedServer canned("HTTP/1.0 404 Not Found\n\nnone here\n");
        const auto r = http::get("127.0.0.1", canned.port(), "/x", 10s);
        CHECK(r.error.empty());
        CHECK(r.status == 404);
        CHECK(r.body == "none here\n");
    }
    SECTION("not HTTP") {
        CannedServer canned("SSH-2.0-OpenSSH_9.2\r\n\r\n");
        CHECK(http::get("127.0.0.1", canned.port(), "/", 10s).error ==
              "the answer is not HTTP/1.x");
    }
    SECTION("cut short") {
        CannedServer canned("HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nabc");
        CHECK(http::get("127.0.0.1", canned.port(), "/", 10s).error ==
              "the answer was cut short: 3 of 10 bytes");
    }
    SECTION("closed without an answer") {
        CannedServer canned(std::string{});
        CHECK(http::get("127.0.0.1", canned.port(), "/", 10s).error ==
              "the connection closed without an answer");
    }
    SECTION("no answer within the time allowed") {
        CannedServer silent(std::nullopt);
        CHECK(http::get("127.0.0.1", silent.port(), "/", 100ms).error == "timed out");
    }
    SECTION("nobody listening") {
        // A port bound but never listened on: refused, and held, so no other test can take it.
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        REQUIRE(fd >= 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&a), sizeof a) == 0);
        socklen_t length = sizeof a;
        REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &length) == 0);
        const auto r = http::get("127.0.0.1", ntohs(a.sin_port), "/", 10s);
        ::close(fd);
        CHECK(r.error == "cannot connect: Connection refused");
    }
}
