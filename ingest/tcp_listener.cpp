#include "ingest/tcp_listener.hpp"

#include "core/log.hpp"
#include "core/options.hpp"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdexcept>
#include <string_view>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

namespace sluice::ingest {
namespace {

using core::TimePoint;

constexpr std::size_t k_read_chunk = 64 * 1024;
constexpr std::size_t k_turn_lines = 128;     // lines one connection may take per turn: fairness
constexpr std::size_t k_keep_capacity = 4096; // buffer a waiting connection may keep
constexpr int k_max_events = 1024;
constexpr int k_accepts_per_pull = 1024;
constexpr int k_backlog = 4096;
constexpr double k_accept_pause = 0.1;          // seconds before accepting again after ENFILE etc.
constexpr double k_refusal_log_interval = 10.0; // seconds between warnings about refusals

struct Connection;

struct Links {
    Connection* prev = nullptr;
    Connection* next = nullptr;
    bool linked = false;
};

struct Connection {
    int fd = -1;
    std::uint32_t slot = 0;
    std::string name;        // "tcp:IP:PORT", the dead letters' source
    std::string pending;     // received bytes not yet taken as lines
    std::size_t pos = 0;     // pending[pos, ...) is unconsumed
    std::size_t scanned = 0; // pending[pos, scanned) holds no newline
    std::uint64_t line_no = 0;
    TimePoint active{};    // when bytes last arrived
    bool readable = false; // edge-triggered: the socket may hold bytes until read says EAGAIN
    bool eof = false;
    Links ready;       // the round-robin queue of connections with work
    Links by_activity; // every open connection, least recently active first
};

// An intrusive list: O(1) removal of any connection, no allocation.
template <Links Connection::*L>
class Chain {
public:
    [[nodiscard]] bool empty() const noexcept { return m_head == nullptr; }
    [[nodiscard]] Connection* front() const noexcept { return m_head; }
    void push_back(Connection& c) noexcept {
        Links& l = c.*L;
        l = Links{m_tail, nullptr, true};
        if (m_tail != nullptr)
            (m_tail->*L).next = &c;
        else
            m_head = &c;
        m_tail = &c;
    }
    void remove(Connection& c) noexcept {
        Links& l = c.*L;
        if (!l.linked) return;
        if (l.prev != nullptr)
            (l.prev->*L).next = l.next;
        else
            m_head = l.next;
        if (l.next != nullptr)
            (l.next->*L).prev = l.prev;
        else
            m_tail = l.prev;
        l = Links{};
    }

private:
    Connection* m_head = nullptr;
    Connection* m_tail = nullptr;
};

std::string address_text(const sockaddr_storage& addr, bool brackets) {
    char host[INET6_ADDRSTRLEN] = "?";
    unsigned port = 0;
    if (addr.ss_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(&addr);
        ::inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        port = ntohs(in->sin_port);
    } else if (addr.ss_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&addr);
        ::inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        port = ntohs(in6->sin6_port);
        if (brackets) return "[" + std::string(host) + "]:" + std::to_string(port);
    }
    return std::string(host) + ":" + std::to_string(port);
}

struct HostPort {
    std::string host; // "*" = every IPv4 interface
    std::string port;
};

HostPort parse_endpoint(const std::string& endpoint) {
    const auto bad = [&] {
        return core::UsageError("--listen: expected tcp://HOST:PORT (or tcp://*:PORT), got '" +
                                endpoint + "'");
    };
    constexpr std::string_view scheme = "tcp://";
    std::string_view rest(endpoint);
    if (!rest.starts_with(scheme)) throw bad();
    rest.remove_prefix(scheme.size());
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) throw bad();
    std::string_view host = rest.substr(0, colon);
    const std::string_view port = rest.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host.empty() || port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos ||
        std::stoul(std::string(port)) > 65535)
        throw bad();
    return {std::string(host), std::string(port)};
}

class Listener final : public TcpListener {
public:
    explicit Listener(const TcpListenerSpec& spec)
        : m_spec(spec), m_columns(core::CsvColumns::positional()), m_events(k_max_events),
          m_chunk(k_read_chunk) {
        m_epoll = ::epoll_create1(EPOLL_CLOEXEC);
        if (m_epoll < 0)
            throw std::runtime_error(std::string("epoll_create1: ") + std::strerror(errno));
        try {
            listen_on(parse_endpoint(spec.endpoint));
        } catch (...) {
            ::close(m_epoll);
            throw;
        }
        m_reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        core::log_info("listening for sensors on ", m_bound);
    }

    ~Listener() override {
        for (auto& c : m_slots)
            if (c) ::close(c->fd);
        ::close(m_listen_fd);
        ::close(m_epoll);
        if (m_reserve_fd >= 0) ::close(m_reserve_fd);
    }
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    Pull pull(std::vector<core::Reading>& out, std::size_t max, DeadLetters& dead) override {
        m_now = core::now();
        if (m_accept_paused && m_now >= m_accept_resume) watch_listener(true);
        collect_events();
        close_idle(dead);
        const std::size_t target = out.size() + max;
        // Bad lines do not count towards `max`: this bounds the time one pull may take.
        const std::size_t work_limit = 2 * max + k_turn_lines;
        std::size_t work = 0;
        bool fresh = true; // nothing served since the last collect_events()
        while (out.size() < target && work < work_limit) {
            if (m_ready.empty()) {
                if (fresh) return Pull::would_block;
                collect_events();
                fresh = true;
                continue;
            }
            fresh = false;
            Connection& c = *m_ready.front();
            m_ready.remove(c);
            if (serve(c, out, target, std::min(work + k_turn_lines, work_limit), work, dead))
                m_ready.push_back(c);
        }
        return Pull::more;
    }

    int fd() const override { return m_epoll; }

    TimePoint wake() const override {
        TimePoint t{};
        if (m_spec.idle_timeout > 0 && !m_by_activity.empty())
            t = m_by_activity.front()->active + core::seconds(m_spec.idle_timeout);
        if (m_accept_paused) t = t == TimePoint{} ? m_accept_resume : std::min(t, m_accept_resume);
        return t;
    }

    std::string describe() const override {
        return std::string(core::input_format_name(m_spec.format)) + " from sensors on " + m_bound;
    }

    std::string summary() const override {
        std::size_t held = 0;
        for (const auto& c : m_slots)
            if (c) held += c->pending.size() - c->pos;
        const TcpListenerStats s = stats();
        return "tcp listener: " + std::to_string(s.accepted) + " connections accepted, " +
               std::to_string(s.closed_by_peer) + " closed by the sensor, " +
               std::to_string(s.closed_idle) + " closed idle, " +
               std::to_string(s.closed_long_line) + " closed for a line over --max-line, " +
               std::to_string(s.refused) + " refused (over --max-connections or out of fds), " +
               std::to_string(s.open) + " open at the end holding " + std::to_string(held) +
               " unprocessed bytes";
    }

    std::uint16_t bound_port() const noexcept override { return m_port; }

    TcpListenerStats stats() const noexcept override {
        TcpListenerStats s = m_stats;
        s.open = m_open;
        return s;
    }

private:
    void listen_on(const HostPort& where) {
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        hints.ai_family = where.host == "*" ? AF_INET : AF_UNSPEC;
        addrinfo* found = nullptr;
        const int rc = ::getaddrinfo(where.host == "*" ? nullptr : where.host.c_str(),
                                     where.port.c_str(), &hints, &found);
        if (rc != 0) {
            throw std::runtime_error("--listen " + m_spec.endpoint + ": " + ::gai_strerror(rc));
        }
        int error = 0;
        for (const addrinfo* a = found; a != nullptr && m_listen_fd < 0; a = a->ai_next) {
            const int fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (fd < 0) {
                error = errno;
                continue;
            }
            const int on = 1;
            ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
            if (::bind(fd, a->ai_addr, a->ai_addrlen) != 0 || ::listen(fd, k_backlog) != 0) {
                error = errno;
                ::close(fd);
                continue;
            }
            m_listen_fd = fd;
        }
        ::freeaddrinfo(found);
        if (m_listen_fd < 0) {
            throw std::runtime_error("cannot listen on " + m_spec.endpoint + ": " +
                                     std::strerror(error));
        }
        sockaddr_storage bound{};
        socklen_t len = sizeof bound;
        ::getsockname(m_listen_fd, reinterpret_cast<sockaddr*>(&bound), &len);
        m_bound = "tcp://" + address_text(bound, true);
        m_port = static_cast<std::uint16_t>(std::stoul(m_bound.substr(m_bound.rfind(':') + 1)));
        epoll_event ev{};
        ev.events = EPOLLIN; // level-triggered: a backlog left by a bounded accept loop stays ready
        ev.data.ptr = nullptr;
        if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, m_listen_fd, &ev) != 0) {
            const int e = errno;
            ::close(m_listen_fd);
            throw std::runtime_error(std::string("epoll_ctl: ") + std::strerror(e));
        }
    }

    void watch_listener(bool on) {
        epoll_event ev{};
        ev.events = on ? static_cast<std::uint32_t>(EPOLLIN) : 0u;
        ev.data.ptr = nullptr;
        ::epoll_ctl(m_epoll, EPOLL_CTL_MOD, m_listen_fd, &ev);
        m_accept_paused = !on;
        m_accept_resume = m_now + core::seconds(k_accept_pause);
    }

    void collect_events() {
        const int n = ::epoll_wait(m_epoll, m_events.data(), k_max_events, 0);
        if (n < 0) {
            if (errno == EINTR) return;
            throw std::runtime_error(std::string("epoll_wait: ") + std::strerror(errno));
        }
        for (int i = 0; i < n; ++i) {
            void* const ptr = m_events[static_cast<std::size_t>(i)].data.ptr;
            if (ptr == nullptr) {
                accept_connections();
                continue;
            }
            Connection& c = *static_cast<Connection*>(ptr);
            c.readable = true;
            touch(c);
            if (!c.ready.linked) m_ready.push_back(c);
        }
    }

    void accept_connections() {
        for (int i = 0; i < k_accepts_per_pull; ++i) {
            sockaddr_storage addr{};
            socklen_t len = sizeof addr;
            const int fd = ::accept4(m_listen_fd, reinterpret_cast<sockaddr*>(&addr), &len,
                                     SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) return;
                if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO) continue;
                if (errno == EMFILE && shed_one()) continue;
                // Out of memory or of system-wide fds: the listener would stay ready forever
                // (level-triggered), so stop watching it for a moment.
                core::log_warn("cannot accept sensor connections: ", std::strerror(errno),
                               "; pausing ", k_accept_pause, " s");
                watch_listener(false);
                return;
            }
            if (m_open >= m_spec.max_connections) {
                ::close(fd);
                refused("over --max-connections " + std::to_string(m_spec.max_connections));
                continue;
            }
            add_connection(fd, addr);
        }
    }

    // Out of file descriptors: the spare one lets us accept the connection and close it, so
    // that the sensor learns at once instead of waiting in the backlog.
    bool shed_one() {
        if (m_reserve_fd < 0) return false;
        ::close(m_reserve_fd);
        const int fd = ::accept4(m_listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd >= 0) ::close(fd);
        m_reserve_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) return false;
        refused("out of file descriptors (raise ulimit -n)");
        return true;
    }

    void refused(const std::string& why) {
        ++m_stats.refused;
        ++m_refused_unlogged;
        if (m_now < m_next_refusal_log) return;
        core::log_warn("refused ", m_refused_unlogged, " sensor connection(s): ", why, " (",
                       m_stats.refused, " in all)");
        m_refused_unlogged = 0;
        m_next_refusal_log = m_now + core::seconds(k_refusal_log_interval);
    }

    void add_connection(int fd, const sockaddr_storage& addr) {
        std::uint32_t slot = 0;
        if (m_free_slots.empty()) {
            slot = static_cast<std::uint32_t>(m_slots.size());
            m_slots.emplace_back();
        } else {
            slot = m_free_slots.back();
            m_free_slots.pop_back();
        }
        m_slots[slot] = std::make_unique<Connection>();
        Connection& c = *m_slots[slot];
        c.fd = fd;
        c.slot = slot;
        c.name = "tcp:" + address_text(addr, true);
        c.active = m_now;
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
        ev.data.ptr = &c;
        if (::epoll_ctl(m_epoll, EPOLL_CTL_ADD, fd, &ev) != 0) {
            core::log_warn("cannot watch connection ", c.name, ": ", std::strerror(errno));
            ::close(fd);
            m_slots[slot].reset();
            m_free_slots.push_back(slot);
            return;
        }
        ++m_stats.accepted;
        ++m_open;
        m_by_activity.push_back(c);
        // Bytes may have arrived before the registration: try a read rather than wait for an edge.
        c.readable = true;
        m_ready.push_back(c);
    }

    void close_connection(Connection& c) {
        m_ready.remove(c);
        m_by_activity.remove(c);
        ::close(c.fd);
        --m_open;
        const std::uint32_t slot = c.slot;
        m_slots[slot].reset();
        m_free_slots.push_back(slot);
    }

    void touch(Connection& c) {
        c.active = m_now;
        m_by_activity.remove(c);
        m_by_activity.push_back(c);
    }

    void close_idle(DeadLetters& dead) {
        if (m_spec.idle_timeout <= 0) return;
        const auto timeout = core::seconds(m_spec.idle_timeout);
        while (!m_by_activity.empty()) {
            Connection& c = *m_by_activity.front();
            if (c.active + timeout > m_now) break;
            // Unread input waiting for its turn: the pipeline is slow, not the sensor.
            if (c.ready.linked) {
                touch(c);
                continue;
            }
            unterminated(c, "truncated line at idle timeout", dead);
            ++m_stats.closed_idle;
            close_connection(c);
        }
    }

    // Takes the connection's lines within the budget; true when it may have more to give now.
    bool serve(Connection& c, std::vector<core::Reading>& out, std::size_t target,
               std::size_t turn_limit, std::size_t& work, DeadLetters& dead) {
        while (true) {
            while (out.size() < target && work < turn_limit) {
                const char* base = c.pending.data();
                const std::size_t from = std::max(c.pos, c.scanned);
                const void* nl = std::memchr(base + from, '\n', c.pending.size() - from);
                if (nl == nullptr) {
                    c.scanned = c.pending.size();
                    break;
                }
                const auto end = static_cast<std::size_t>(static_cast<const char*>(nl) - base);
                const std::string_view line(base + c.pos, end - c.pos);
                if (line.size() > m_spec.max_line) {
                    close_for_long_line(c, line, dead);
                    return false;
                }
                take_line(c, line, out, dead);
                ++work;
                c.pos = end + 1;
            }
            if (out.size() >= target || work >= turn_limit) return true;
            // No complete line is buffered.
            if (c.pending.size() - c.pos > m_spec.max_line) {
                close_for_long_line(c, std::string_view(c.pending).substr(c.pos), dead);
                return false;
            }
            if (c.eof) {
                unterminated(c, "truncated line at end of connection", dead);
                ++m_stats.closed_by_peer;
                close_connection(c);
                return false;
            }
            if (!c.readable) {
                if (c.pos == c.pending.size() && c.pending.capacity() > k_keep_capacity)
                    std::string().swap(c.pending);
                return false;
            }
            read_some(c);
        }
    }

    void read_some(Connection& c) {
        if (c.pos == c.pending.size()) {
            c.pending.clear();
            c.pos = c.scanned = 0;
        } else if (c.pos > 0) {
            c.pending.erase(0, c.pos);
            c.scanned = c.scanned > c.pos ? c.scanned - c.pos : 0;
            c.pos = 0;
        }
        const ssize_t n = ::read(c.fd, m_chunk.data(), m_chunk.size());
        if (n > 0) {
            c.pending.append(m_chunk.data(), static_cast<std::size_t>(n));
            touch(c);
        } else if (n == 0) {
            c.eof = true;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c.readable = false;
        } else if (errno != EINTR) {
            c.eof = true; // reset by the peer or similar: what arrived is still taken
        }
    }

    void take_line(Connection& c, std::string_view line, std::vector<core::Reading>& out,
                   DeadLetters& dead) {
        ++c.line_no;
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.find_first_not_of(" \t") == std::string_view::npos)
            return; // blank lines carry nothing
        core::Reading& r = out.emplace_back();
        if (const auto err = core::parse_line(m_spec.format, m_columns, line, m_spec.unit, r)) {
            out.pop_back();
            dead.add(c.name, c.line_no, err->reason, line);
        }
    }

    void close_for_long_line(Connection& c, std::string_view line, DeadLetters& dead) {
        ++c.line_no;
        dead.add(c.name, c.line_no, "line is longer than --max-line", line);
        ++m_stats.closed_long_line;
        close_connection(c);
    }

    // The bytes after the last newline of a connection that is closing.
    void unterminated(Connection& c, std::string_view reason, DeadLetters& dead) {
        std::string_view rest = std::string_view(c.pending).substr(c.pos);
        if (!rest.empty() && rest.back() == '\r') rest.remove_suffix(1);
        if (rest.find_first_not_of(" \t") == std::string_view::npos) return;
        ++c.line_no;
        dead.add(c.name, c.line_no, reason, rest);
    }

    TcpListenerSpec m_spec;
    core::CsvColumns m_columns;
    int m_epoll = -1;
    int m_listen_fd = -1;
    int m_reserve_fd = -1;
    std::string m_bound;
    std::uint16_t m_port = 0;
    std::vector<epoll_event> m_events;
    std::vector<char> m_chunk;
    std::vector<std::unique_ptr<Connection>> m_slots;
    std::vector<std::uint32_t> m_free_slots;
    Chain<&Connection::ready> m_ready;
    Chain<&Connection::by_activity> m_by_activity;
    std::uint64_t m_open = 0;
    TcpListenerStats m_stats;
    TimePoint m_now{};
    bool m_accept_paused = false;
    TimePoint m_accept_resume{};
    TimePoint m_next_refusal_log{};
    std::uint64_t m_refused_unlogged = 0;
};

} // namespace

std::unique_ptr<TcpListener> make_tcp_listener(const TcpListenerSpec& spec) {
    return std::make_unique<Listener>(spec);
}

} // namespace sluice::ingest
