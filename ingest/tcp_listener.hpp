// The TCP listener source (SPEC §2, §6): sensors connect and send JSON Lines or headerless CSV
// lines (sensorId,timestamp,value[,unit]). One thread, epoll, non-blocking sockets. Sockets are
// read only inside pull(), round-robin with a per-connection budget: when the pipeline is slow the
// ingest stops pulling, TCP flow control stalls the senders, and no connection starves the others.
#pragma once

#include "ingest/sources.hpp"

#include <cstdint>
#include <memory>
#include <string>

namespace sluice::ingest {

struct TcpListenerSpec {
    // tcp://HOST:PORT; HOST may be * (every IPv4 interface), a name, an IPv4 or [IPv6] address;
    // port 0 picks a free port (see TcpListener::bound_port).
    std::string endpoint;
    core::InputFormat format = core::InputFormat::jsonl;
    std::string unit = "C";
    std::size_t max_line = 1 << 20;
    std::uint32_t max_connections = 4096; // more are accepted and closed at once (refused)
    double idle_timeout = 60.0; // seconds without a byte before a connection is closed; 0 = never
};

struct TcpListenerStats {
    std::uint64_t accepted = 0;
    std::uint64_t closed_by_peer = 0; // end of stream or reset by the sensor
    std::uint64_t closed_idle = 0;
    std::uint64_t closed_long_line = 0;
    std::uint64_t refused = 0; // over --max-connections, or out of file descriptors
    std::uint64_t open = 0;
};

// Dead letters name their connection ("tcp:127.0.0.1:40312") and the line number within it. A
// connection that sends a line longer than max_line is closed (the rest of its input discarded);
// an unterminated last line is a dead letter. pull() never returns Pull::end; fd() is the epoll
// fd and wake() the earliest idle deadline ({} when none).
class TcpListener : public Source {
public:
    [[nodiscard]] virtual std::uint16_t bound_port() const noexcept = 0;
    [[nodiscard]] virtual TcpListenerStats stats() const noexcept = 0;
};

// Binds and listens, logging "listening for sensors on tcp://ADDRESS:PORT". Throws
// core::UsageError for a malformed endpoint and std::runtime_error when it cannot listen.
[[nodiscard]] std::unique_ptr<TcpListener> make_tcp_listener(const TcpListenerSpec& spec);

} // namespace sluice::ingest
