#include "core/sockets.hpp"

#include "core/security.hpp"

#include <stdexcept>

namespace sluice::core {

zmq::context_t& zmq_context() {
    static zmq::context_t context(1);
    return context;
}

zmq::socket_t make_socket(zmq::socket_type type, Role role, int sndhwm, int rcvhwm) {
    zmq::socket_t s(zmq_context(), type);
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

std::string bind(zmq::socket_t& socket, const std::string& endpoint, std::string_view flag) {
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
    try {
        socket.connect(endpoint);
    } catch (const zmq::error_t& e) {
        throw std::runtime_error("cannot connect " + std::string(flag) + " '" + endpoint +
                                 "': " + e.what());
    }
}

Received receive(zmq::socket_t& socket, Frames& frames, std::size_t max_frames) {
    frames.clear();
    zmq::message_t msg;
    if (!socket.recv(msg, zmq::recv_flags::dontwait)) return Received::nothing;
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

int poll(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout) {
    const int rc =
        zmq_poll(items.data(), static_cast<int>(items.size()), static_cast<long>(timeout.count()));
    if (rc < 0) {
        if (zmq_errno() == EINTR) return 0;
        throw zmq::error_t();
    }
    return rc;
}

} // namespace sluice::core
