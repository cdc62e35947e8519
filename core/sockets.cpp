#include "core/sockets.hpp"

#include "core/options.hpp"
#include "core/security.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <poll.h>
#include <stdexcept>
#include <sys/socket.h>
#include <system_error>

namespace sluice::core {

namespace {

// Sockets of this thread that are known to be quiet: the last thing that happened to them was a
// receive that found nothing or a ZMQ_EVENTS that showed no input. Such a socket has no command
// waiting unread in its mailbox and every one of its pipes asleep, so any new message signals its
// ZMQ_FD; poll() blocks on that descriptor without asking ZMQ_EVENTS first. A send may process the
// socket's commands (an activated pipe among them) without reading the message, and so does
// bind/connect: those make a socket not quiet. A node has a handful of sockets, hence a vector.
thread_local std::vector<void*> t_quiet;

bool is_quiet(void* socket) {
    return std::find(t_quiet.begin(), t_quiet.end(), socket) != t_quiet.end();
}

void set_quiet(void* socket, bool quiet) {
    const auto it = std::find(t_quiet.begin(), t_quiet.end(), socket);
    if (quiet && it == t_quiet.end()) t_quiet.push_back(socket);
    if (!quiet && it != t_quiet.end()) t_quiet.erase(it);
}

} // namespace

zmq::context_t& zmq_context() {
    static zmq::context_t context(1);
    return context;
}

zmq::socket_t make_socket(zmq::socket_type type, Role role, int sndhwm, int rcvhwm) {
    zmq::socket_t s(zmq_context(), type);
    set_quiet(s.handle(), false); // a closed socket's address may be reused
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::sndhwm, sndhwm);
    s.set(zmq::sockopt::rcvhwm, rcvhwm);
    s.set(zmq::sockopt::maxmsgsize, k_max_message_bytes);
    if (type == zmq::socket_type::router) {
        s.set(zmq::sockopt::router_mandatory, 1);
        s.set(zmq::sockopt::router_handover, 1);
    }
    apply_security(s, role);
    return s;
}

namespace {

bool is_unix_stream(int fd) {
    int domain = 0;
    int type = 0;
    socklen_t length = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0 || domain != AF_UNIX)
        return false;
    length = sizeof type;
    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length) == 0 && type == SOCK_STREAM;
}

} // namespace

IpcSendBuffer::Counts IpcSendBuffer::wait_seen(unsigned seen,
                                               std::chrono::milliseconds timeout) const {
    std::unique_lock lock(m_mutex);
    m_changed.wait_for(lock, timeout, [&] { return m_counts.seen >= seen; });
    return m_counts;
}

IpcSendBuffer::IpcSendBuffer(zmq::socket_t& socket, int bytes) : m_socket(socket), m_bytes(bytes) {
    static std::atomic<unsigned> s_next{0};
    const std::string endpoint = "inproc://sluice-ipc-send-buffer-" + std::to_string(s_next++);
    if (zmq_socket_monitor(socket.handle(), endpoint.c_str(),
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_MONITOR_STOPPED) !=
        0)
        throw zmq::error_t();
    // Connected here, before the watched socket binds or connects: libzmq drops events while the
    // monitor has no peer. An inproc connection to a bound endpoint is complete on return.
    zmq::socket_t monitor(zmq_context(), zmq::socket_type::pair);
    monitor.set(zmq::sockopt::linger, 0);
    // A safety net only: the thread also wakes every second to see whether it was told to stop,
    // should libzmq ever fail to deliver ZMQ_EVENT_MONITOR_STOPPED.
    monitor.set(zmq::sockopt::rcvtimeo, 1000);
    monitor.connect(endpoint);
    m_thread = std::thread([this, m = std::move(monitor)]() mutable { watch(std::move(m)); });
}

IpcSendBuffer::~IpcSendBuffer() {
    m_stopping = true;
    // Ends the monitor; libzmq sends ZMQ_EVENT_MONITOR_STOPPED, on which the thread returns.
    (void)zmq_socket_monitor(m_socket.handle(), nullptr, 0);
    m_thread.join();
}

void IpcSendBuffer::watch(zmq::socket_t monitor) {
    try {
        while (true) {
            zmq::message_t event;
            if (!monitor.recv(event)) {
                if (m_stopping) return;
                continue;
            }
            // Version 1 events: a frame of the 16-bit event and the 32-bit value, then a frame
            // with the endpoint.
            std::uint16_t id = 0;
            std::uint32_t value = 0;
            const bool well_formed = event.size() == 6;
            if (well_formed) {
                std::memcpy(&id, event.data(), sizeof id);
                std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
            }
            while (event.more()) {
                if (!monitor.recv(event)) break;
            }
            if (!well_formed) continue;
            if (id == ZMQ_EVENT_MONITOR_STOPPED) return;
            // The descriptor may have been closed since the event, and its number reused: the
            // check below keeps files and TCP sockets untouched, and a larger buffer on another
            // Unix socket of this process would do no harm.
            const auto fd = static_cast<int>(value);
            const bool tuned = is_unix_stream(fd) &&
                               setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &m_bytes, sizeof m_bytes) == 0;
            {
                const std::lock_guard lock(m_mutex);
                ++m_counts.seen;
                if (tuned) ++m_counts.tuned;
            }
            m_changed.notify_all();
        }
    } catch (const zmq::error_t&) {
        // The context is ending: so is the process.
    }
}

std::string bind(zmq::socket_t& socket, const std::string& endpoint, std::string_view flag) {
    set_quiet(socket.handle(), false);
    try {
        socket.bind(endpoint);
    } catch (const zmq::error_t& e) {
        throw std::runtime_error("cannot bind " + std::string(flag) + " '" + endpoint +
                                 "': " + e.what());
    }
    return socket.get(zmq::sockopt::last_endpoint);
}

void connect(zmq::socket_t& socket, const std::string& endpoint, std::string_view flag) {
    // Nodes start in any order. A connect that finds nothing bound yet is retried after
    // reconnect_ivl: libzmq's 100 ms default made every job's first batches wait for it (a
    // ~170 ms latency spike at start-up, bench/e2e.sh latency). Retry after 10 ms instead,
    // doubling up to 1 s so that a peer that is down is not hammered.
    socket.set(zmq::sockopt::reconnect_ivl, 10);
    socket.set(zmq::sockopt::reconnect_ivl_max, 1000);
    set_quiet(socket.handle(), false);
    try {
        socket.connect(endpoint);
    } catch (const zmq::error_t& e) {
        throw std::runtime_error("cannot connect " + std::string(flag) + " '" + endpoint +
                                 "': " + e.what());
    }
}

zmq::message_t message_from(std::unique_ptr<std::string> buffer) {
    std::string* const owned = buffer.release();
    return zmq::message_t(
        owned->data(), owned->size(),
        [](void*, void* hint) { delete static_cast<std::string*>(hint); }, owned);
}

Received receive(zmq::socket_t& socket, Frames& frames, std::size_t max_frames) {
    frames.clear();
    zmq::message_t msg;
    // A receive that finds nothing has processed the socket's commands and tried every pipe.
    const bool got = socket.recv(msg, zmq::recv_flags::dontwait).has_value();
    set_quiet(socket.handle(), !got);
    if (!got) return Received::nothing;
    bool oversized = false;
    while (true) {
        const bool more = msg.more();
        if (frames.size() < max_frames) {
            frames.push_back(std::move(msg));
        } else {
            oversized = true;
        }
        if (!more) break;
        // The rest of a multipart message is already here: ZeroMQ delivers messages whole.
        msg = zmq::message_t();
        if (!socket.recv(msg, zmq::recv_flags::dontwait)) break;
    }
    if (oversized) {
        frames.clear();
        return Received::oversized;
    }
    return Received::message;
}

Sent send(zmq::socket_t& socket, const zmq::message_t* routing_id, std::string_view header,
          std::span<zmq::message_t> data) {
    set_quiet(socket.handle(), false);
    try {
        if (routing_id != nullptr) {
            zmq::message_t id(routing_id->data(), routing_id->size());
            if (!socket.send(id, zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
                return Sent::would_block;
            }
        }
        // After the first frame is accepted the rest of the message is always taken.
        zmq::message_t head(header.data(), header.size());
        const auto head_flags = data.empty() ? zmq::send_flags::dontwait
                                             : zmq::send_flags::sndmore | zmq::send_flags::dontwait;
        if (!socket.send(head, head_flags)) return Sent::would_block;
        for (std::size_t i = 0; i < data.size(); ++i) {
            const auto flags =
                i + 1 < data.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
            (void)socket.send(data[i], flags | zmq::send_flags::dontwait);
        }
    } catch (const zmq::error_t& e) {
        if (e.num() == EHOSTUNREACH) return Sent::unreachable;
        throw;
    }
    return Sent::ok;
}

namespace {

// ZMQ_EVENTS of a socket item, masked by what it asks for, as zmq_poll reports them. Processes the
// socket's pending commands; a socket without input is quiet afterwards.
short socket_events(const zmq::pollitem_t& item) {
    std::uint32_t events = 0;
    std::size_t size = sizeof events;
    if (zmq_getsockopt(item.socket, ZMQ_EVENTS, &events, &size) != 0) throw zmq::error_t();
    set_quiet(item.socket, (events & ZMQ_POLLIN) == 0);
    return static_cast<short>(events & static_cast<std::uint32_t>(item.events) &
                              (ZMQ_POLLIN | ZMQ_POLLOUT));
}

short fd_events(short revents) {
    short r = 0;
    if (revents & POLLIN) r |= ZMQ_POLLIN;
    if (revents & POLLOUT) r |= ZMQ_POLLOUT;
    if (revents & (POLLERR | POLLHUP | POLLNVAL)) r |= ZMQ_POLLERR;
    return r;
}

} // namespace

int poll(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout) {
    thread_local std::vector<pollfd> fds;
    fds.assign(items.size(), pollfd{-1, 0, 0});
    int ready = 0;
    bool skipped = false;
    try {
        // First what is known without waiting: ZMQ_EVENTS of every socket that is not quiet. A
        // quiet socket's ZMQ_FD tells whether anything happened to it.
        for (std::size_t i = 0; i < items.size(); ++i) {
            zmq::pollitem_t& item = items[i];
            item.revents = 0;
            if (item.socket == nullptr) {
                fds[i] = {item.fd,
                          static_cast<short>(((item.events & ZMQ_POLLIN) ? POLLIN : 0) |
                                             ((item.events & ZMQ_POLLOUT) ? POLLOUT : 0)),
                          0};
                continue;
            }
            if (item.events == 0) continue;
            int fd = -1;
            std::size_t size = sizeof fd;
            if (zmq_getsockopt(item.socket, ZMQ_FD, &fd, &size) != 0) throw zmq::error_t();
            fds[i] = {fd, POLLIN, 0};
            if ((item.events & ZMQ_POLLOUT) == 0 && is_quiet(item.socket)) {
                skipped = true;
                continue;
            }
            item.revents = socket_events(item);
            if (item.revents) ++ready;
        }
        if (ready > 0 && !skipped) return ready;
        // Then wait on the descriptors (not at all when something is ready: only look at the
        // quiet sockets' signals, so that a busy socket cannot starve them), and ask ZMQ_EVENTS
        // only of the sockets whose descriptor was signalled.
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        const auto remaining = [&]() -> int {
            if (timeout.count() < 0) return -1;
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(
                deadline - std::chrono::steady_clock::now());
            return static_cast<int>(std::max<std::int64_t>(0, left.count()));
        };
        while (true) {
            const int wait = ready > 0 ? 0 : remaining();
            const int rc = ::poll(fds.data(), fds.size(), wait);
            if (rc < 0) {
                if (errno == EINTR) return ready;
                throw std::system_error(errno, std::generic_category(), "poll");
            }
            for (std::size_t i = 0; rc > 0 && i < items.size(); ++i) {
                if (fds[i].revents == 0) continue;
                zmq::pollitem_t& item = items[i];
                item.revents =
                    item.socket != nullptr ? socket_events(item) : fd_events(fds[i].revents);
                if (item.socket == nullptr && item.fd == stop_fd()) stop_fd_readable();
            }
            ready = static_cast<int>(std::count_if(items.begin(), items.end(),
                                                   [](const auto& it) { return it.revents != 0; }));
            if (ready > 0 || wait == 0) return ready;
        }
    } catch (const zmq::error_t& e) {
        if (e.num() == EINTR) return ready;
        throw;
    }
}

} // namespace sluice::core
