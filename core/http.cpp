#include "core/http.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <optional>
#include <poll.h>
#include <stdexcept>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <utility>
#include <vector>

namespace sluice::core::http {

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t k_max_head = 8192;                // a request's line and headers
constexpr std::size_t k_max_answer = 256 * 1024 * 1024; // what the client accepts
constexpr std::size_t k_max_connections = 64; // served at once; the rest wait in the backlog
constexpr int k_backlog = 64;

// Closes the descriptor it holds when it goes.
class Fd {
public:
    Fd() = default;
    explicit Fd(int fd) noexcept : m_fd(fd) {}
    Fd(Fd&& o) noexcept : m_fd(std::exchange(o.m_fd, -1)) {}
    Fd& operator=(Fd&& o) noexcept {
        if (this != &o) {
            reset();
            m_fd = std::exchange(o.m_fd, -1);
        }
        return *this;
    }
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() { reset(); }
    [[nodiscard]] int get() const noexcept { return m_fd; }
    void reset() noexcept {
        if (m_fd >= 0) ::close(m_fd);
        m_fd = -1;
    }

private:
    int m_fd = -1;
};

} // namespace

std::size_t head_end(std::string_view data) noexcept {
    for (std::size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
        const std::size_t next = i + 1;
        if (next < data.size() && data[next] == '\n') return next + 1;
        if (next + 1 < data.size() && data[next] == '\r' && data[next + 1] == '\n') return next + 2;
    }
    return std::string_view::npos;
}

namespace {

std::string_view first_line(std::string_view head) noexcept {
    std::string_view line = head.substr(0, head.find('\n'));
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

bool is_token(std::string_view s) noexcept {
    // RFC 9110's tchar.
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    });
}

const char* reason_phrase(int status) noexcept {
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 505:
        return "HTTP Version Not Supported";
    default:
        return "Unknown";
    }
}

std::string errno_text(const char* what) {
    return std::string(what) + ": " + std::strerror(errno);
}

struct AddrInfo {
    addrinfo* list = nullptr;
    AddrInfo() = default;
    AddrInfo(const AddrInfo&) = delete;
    AddrInfo& operator=(const AddrInfo&) = delete;
    ~AddrInfo() {
        if (list != nullptr) ::freeaddrinfo(list);
    }
};

// Resolves host:port for a stream socket; an error message when it cannot.
std::string resolve(const std::string& host, int port, bool passive, AddrInfo& out) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
    const std::string service = std::to_string(port);
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &out.list);
    if (rc != 0) return "cannot resolve '" + host + "': " + ::gai_strerror(rc);
    return {};
}

// The Content-Length of a head, if it has one that is a number.
std::optional<std::size_t> content_length(std::string_view head) {
    for (std::size_t at = head.find('\n'); at != std::string_view::npos;) {
        const std::size_t next = head.find('\n', at + 1);
        std::string_view line = head.substr(
            at + 1, next == std::string_view::npos ? std::string_view::npos : next - at - 1);
        at = next;
        constexpr std::string_view k_name = "content-length:";
        if (line.size() < k_name.size() ||
            !std::equal(k_name.begin(), k_name.end(), line.begin(),
                        [](char a, char b) { return a == (b >= 'A' && b <= 'Z' ? b + 32 : b); }))
            continue;
        line.remove_prefix(k_name.size());
        while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
            line.remove_prefix(1);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
        std::size_t v = 0;
        const auto [end, ec] = std::from_chars(line.data(), line.data() + line.size(), v);
        if (ec == std::errc{} && end == line.data() + line.size()) return v;
        return std::nullopt;
    }
    return std::nullopt;
}

int remaining_ms(Clock::time_point deadline) noexcept {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left <= 0 ? 0 : static_cast<int>(std::min<long long>(left + 1, 1 << 30));
}

// One client of the server: reading its head, writing the answer, then reading to its end so
// that closing does not reset the connection under an answer the client has not yet read.
struct Connection {
    Fd fd;
    Clock::time_point deadline;
    std::string in;
    std::string out;
    std::size_t sent = 0;
    enum class Phase { reading, writing, draining } phase = Phase::reading;
};

} // namespace

std::variant<Request, RequestError> parse_request(std::string_view head) {
    const std::string_view line = first_line(head);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
        return RequestError{400, "the request line is not METHOD TARGET VERSION"};
    const std::string_view method = line.substr(0, sp1);
    const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    const std::string_view version = line.substr(sp2 + 1);
    if (!is_token(method)) return RequestError{400, "the method is not a token"};
    if (version.substr(0, 5) != "HTTP/" || version.size() != 8 || version[6] != '.')
        return RequestError{400, "the version is not HTTP/x.y"};
    if (version.substr(0, 7) != "HTTP/1.") return RequestError{505, "only HTTP/1.x is served"};
    if (target.empty() || target[0] != '/')
        return RequestError{400, "the target is not a path beginning with /"};
    if (method != "GET" && method != "HEAD")
        return RequestError{405, "only GET and HEAD are served"};
    return Request{std::string(method), std::string(target.substr(0, target.find_first_of("?#")))};
}

std::string render_response(const Response& response, bool with_body) {
    std::string out =
        "HTTP/1.1 " + std::to_string(response.status) + " " + reason_phrase(response.status) +
        "\r\nContent-Type: " + response.content_type +
        "\r\nContent-Length: " + std::to_string(response.body.size()) + "\r\nConnection: close\r\n";
    if (response.status == 405) out += "Allow: GET, HEAD\r\n";
    out += "\r\n";
    if (with_body) out += response.body;
    return out;
}

ClientResult parse_answer(std::string_view answer) {
    // "HTTP/1.x NNN reason", header lines, an empty line, the body.
    ClientResult result;
    const std::size_t end = head_end(answer);
    const std::string_view line = first_line(answer);
    const auto digit = [&](std::size_t i) { return line[i] >= '0' && line[i] <= '9'; };
    if (end == std::string::npos || line.substr(0, 7) != "HTTP/1." || line.size() < 12 ||
        line[8] != ' ' || !digit(9) || line[9] == '0' || !digit(10) || !digit(11) ||
        (line.size() > 12 && line[12] != ' ')) {
        result.error = answer.empty() ? "the connection closed without an answer"
                                      : "the answer is not HTTP/1.x";
        return result;
    }
    result.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
    result.body = answer.substr(end);
    if (const auto length = content_length(answer.substr(0, end));
        length && *length != result.body.size()) {
        result.error = "the answer was cut short: " + std::to_string(result.body.size()) + " of " +
                       std::to_string(*length) + " bytes";
    }
    return result;
}

struct Server::Impl {
    Fd listener;
    Fd wake; // an eventfd: readable once the server is to stop
    int port = 0;
    Handler handler;
    Refusal on_refused;
    std::chrono::milliseconds deadline{};
    std::thread thread;

    void run();
    Response answer(std::string_view head) const;
    void accept_all(std::vector<Connection>& connections) const;
    static bool advance(Connection& c, short revents, const Impl& self);
};

Response Server::Impl::answer(std::string_view head) const {
    const auto parsed = parse_request(head);
    if (const auto* error = std::get_if<RequestError>(&parsed)) {
        if (on_refused) on_refused(error->status);
        return Response{error->status, "text/plain; charset=utf-8", error->reason + "\n"};
    }
    try {
        return handler(std::get<Request>(parsed).path);
    } catch (const std::exception& e) {
        return Response{500, "text/plain; charset=utf-8", std::string(e.what()) + "\n"};
    }
}

void Server::Impl::accept_all(std::vector<Connection>& connections) const {
    while (connections.size() < k_max_connections) {
        const int fd = ::accept4(listener.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return; // EAGAIN, or a connection that failed before it was taken: no matter
        connections.push_back(
            Connection{Fd(fd), Clock::now() + deadline, {}, {}, 0, Connection::Phase::reading});
    }
}

// Moves one connection on as far as its socket allows; false once it is finished with.
bool Server::Impl::advance(Connection& c, short revents, const Impl& self) {
    if (revents == 0) return Clock::now() < c.deadline;
    std::array<char, 4096> buf;
    if (c.phase == Connection::Phase::reading) {
        while (true) {
            const ssize_t n = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
            if (n == 0) return false; // gone before its request was whole
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return Clock::now() < c.deadline;
                return false;
            }
            c.in.append(buf.data(), static_cast<std::size_t>(n));
            const std::size_t end = head_end(c.in);
            if (end == std::string::npos && c.in.size() < k_max_head) continue;
            const std::string_view head = std::string_view(c.in).substr(0, end);
            if (end == std::string::npos && self.on_refused) self.on_refused(431);
            const Response r = end == std::string::npos
                                   ? Response{431, "text/plain; charset=utf-8",
                                              "the request's head exceeds 8192 bytes\n"}
                                   : self.answer(head);
            c.out = render_response(r, head.substr(0, 5) != "HEAD ");
            c.in.clear();
            c.phase = Connection::Phase::writing;
            break;
        }
    }
    if (c.phase == Connection::Phase::writing) {
        while (c.sent < c.out.size()) {
            const ssize_t n =
                ::send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno == EINTR) continue;
                if (errno == EAGAIN || errno == EWOULDBLOCK) return Clock::now() < c.deadline;
                return false;
            }
            c.sent += static_cast<std::size_t>(n);
        }
        ::shutdown(c.fd.get(), SHUT_WR);
        c.phase = Connection::Phase::draining;
        return Clock::now() < c.deadline;
    }
    while (true) { // draining: whatever else the client sends, until it closes
        const ssize_t n = ::recv(c.fd.get(), buf.data(), buf.size(), 0);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return Clock::now() < c.deadline;
        return false;
    }
}

void Server::Impl::run() {
    std::vector<Connection> connections;
    std::vector<pollfd> fds;
    while (true) {
        fds.clear();
        fds.push_back(pollfd{wake.get(), POLLIN, 0});
        fds.push_back(
            pollfd{listener.get(),
                   static_cast<short>(connections.size() < k_max_connections ? POLLIN : 0), 0});
        Clock::time_point soonest = Clock::time_point::max();
        for (const Connection& c : connections) {
            fds.push_back(pollfd{
                c.fd.get(),
                static_cast<short>(c.phase == Connection::Phase::writing ? POLLOUT : POLLIN), 0});
            soonest = std::min(soonest, c.deadline);
        }
        const int timeout = connections.empty() ? -1 : remaining_ms(soonest);
        if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) return;
        if (fds[0].revents != 0) return;
        // Sockets first (their revents line up with `connections` only before accepting).
        std::size_t kept = 0;
        for (std::size_t i = 0; i < connections.size(); ++i) {
            if (advance(connections[i], fds[i + 2].revents, *this)) {
                if (kept != i) connections[kept] = std::move(connections[i]);
                ++kept;
            }
        }
        connections.resize(kept);
        if (fds[1].revents != 0) accept_all(connections);
    }
}

Server::Server(const std::string& host, int port, Handler handler,
               std::chrono::milliseconds deadline, Refusal on_refused)
    : m_impl(std::make_unique<Impl>()) {
    m_impl->handler = std::move(handler);
    m_impl->on_refused = std::move(on_refused);
    m_impl->deadline = deadline;
    const std::string where = host + ":" + std::to_string(port);
    AddrInfo addresses;
    if (std::string error = resolve(host, port, true, addresses); !error.empty())
        throw std::runtime_error("cannot serve on '" + where + "': " + error);
    std::string error = "no address";
    for (const addrinfo* a = addresses.list; a != nullptr; a = a->ai_next) {
        Fd fd(
            ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (fd.get() < 0) {
            error = errno_text("socket");
            continue;
        }
        const int one = 1;
        ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd.get(), a->ai_addr, a->ai_addrlen) != 0) {
            error = errno_text("bind");
            continue;
        }
        if (::listen(fd.get(), k_backlog) != 0) {
            error = errno_text("listen");
            continue;
        }
        sockaddr_storage bound{};
        socklen_t length = sizeof bound;
        if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&bound), &length) != 0) {
            error = errno_text("getsockname");
            continue;
        }
        std::array<char, NI_MAXSERV> service{};
        if (::getnameinfo(reinterpret_cast<const sockaddr*>(&bound), length, nullptr, 0,
                          service.data(), service.size(), NI_NUMERICSERV) != 0) {
            error = "the bound port is unknown";
            continue;
        }
        m_impl->port = std::atoi(service.data());
        m_impl->listener = std::move(fd);
        break;
    }
    if (m_impl->listener.get() < 0)
        throw std::runtime_error("cannot serve on '" + where + "': " + error);
    m_impl->wake = Fd(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (m_impl->wake.get() < 0) throw std::runtime_error(errno_text("eventfd"));
    m_impl->thread = std::thread([impl = m_impl.get()] { impl->run(); });
}

Server::~Server() {
    const std::uint64_t one = 1;
    // An eventfd's counter cannot overflow from one write; the thread sees it whenever it polls.
    [[maybe_unused]] const ssize_t n = ::write(m_impl->wake.get(), &one, sizeof one);
    m_impl->thread.join();
}

int Server::port() const noexcept {
    return m_impl->port;
}

ClientResult get(const std::string& host, int port, const std::string& path,
                 std::chrono::milliseconds timeout) {
    ClientResult result;
    AddrInfo addresses;
    if (result.error = resolve(host, port, false, addresses); !result.error.empty()) return result;
    Fd fd;
    result.error = "cannot connect";
    auto deadline = Clock::now() + timeout;
    for (const addrinfo* a = addresses.list; a != nullptr && fd.get() < 0; a = a->ai_next) {
        Fd s(::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol));
        if (s.get() < 0) continue;
        if (::connect(s.get(), a->ai_addr, a->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                result.error = "cannot connect: " + std::string(std::strerror(errno));
                continue;
            }
            pollfd p{s.get(), POLLOUT, 0};
            if (::poll(&p, 1, remaining_ms(deadline)) <= 0) {
                result.error = "cannot connect: timed out";
                continue;
            }
            int so_error = 0;
            socklen_t length = sizeof so_error;
            ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &so_error, &length);
            if (so_error != 0) {
                result.error = "cannot connect: " + std::string(std::strerror(so_error));
                continue;
            }
        }
        fd = std::move(s);
    }
    if (fd.get() < 0) return result;
    deadline = Clock::now() + timeout;
    const std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" +
                                std::to_string(port) + "\r\nConnection: close\r\n\r\n";
    std::string answer;
    std::size_t sent = 0;
    std::array<char, 16384> buf;
    while (true) {
        const bool sending = sent < request.size();
        pollfd p{fd.get(), static_cast<short>(sending ? POLLOUT : POLLIN), 0};
        const int ready = ::poll(&p, 1, remaining_ms(deadline));
        if (ready < 0 && errno == EINTR) continue;
        if (ready <= 0) {
            result.error = ready == 0 ? "timed out" : errno_text("poll");
            return result;
        }
        if (sending) {
            const ssize_t n =
                ::send(fd.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EINTR && errno != EAGAIN) {
                result.error = errno_text("send");
                return result;
            }
            if (n > 0) sent += static_cast<std::size_t>(n);
            continue;
        }
        const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
        if (n == 0) break;
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            result.error = errno_text("recv");
            return result;
        }
        answer.append(buf.data(), static_cast<std::size_t>(n));
        if (answer.size() > k_max_answer) {
            result.error = "the answer exceeds 256 MiB";
            return result;
        }
    }
    return parse_answer(answer);
}

} // namespace sluice::core::http
