// ZeroMQ sockets as every Sluice node uses them: linger 0 (delivery is always acknowledged by the
// protocol, never left to linger), explicit high-water marks, a bound on message size, and
// non-blocking receive and send whose "would block" is a value, not an exception.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <vector>
#include <zmq.hpp>

namespace sluice::core {

using Frames = std::vector<zmq::message_t>;

// Messages larger than this are refused by ZeroMQ on receipt (ZMQ_MAXMSGSIZE).
inline constexpr std::int64_t k_max_message_bytes = 64 * 1024 * 1024;

// The process's one ZeroMQ context.
[[nodiscard]] zmq::context_t& zmq_context();

enum class Role { binding, connecting };

// A socket with linger 0, the given high-water marks and ZMQ_MAXMSGSIZE. ROUTER sockets also get
// ROUTER_MANDATORY (sending to a gone peer fails instead of vanishing) and ROUTER_HANDOVER.
// Connecting sockets deliberately do not use ZMQ_IMMEDIATE: with it, libzmq discards messages
// already received but not yet read when the connection drops (a peer's last acknowledgement,
// sent just before it exits, would be lost). Messages queued for an absent peer are harmless:
// every conversation is acknowledged and carries a job or stream id.
[[nodiscard]] zmq::socket_t make_socket(zmq::socket_type type, Role role, int sndhwm, int rcvhwm);

// Binds `endpoint` and returns the endpoint as bound (with the real port for "tcp://*:0").
// Throws std::runtime_error "cannot bind <flag> '<endpoint>': <reason>".
std::string bind(zmq::socket_t& socket, const std::string& endpoint, std::string_view flag);
// Throws std::runtime_error "cannot connect <flag> '<endpoint>': <reason>" for a malformed
// endpoint.
void connect(zmq::socket_t& socket, const std::string& endpoint, std::string_view flag);

// The kernel send buffer of a socket's Unix-domain (ipc://) connections, made larger.
//
// libzmq applies ZMQ_SNDBUF to TCP only; an ipc:// connection keeps the kernel's default
// (net.core.wmem_default, 208 KiB on a stock Linux). For a Unix stream socket the sender's buffer
// bounds everything in flight, so a message larger than it (a 1,000-reading JSON Lines result is
// ~311 KB) crosses in several turns: the sending I/O thread fills the buffer, waits, and is woken
// again once the receiver has drained it. On a VM every such wake-up is expensive
// (docs/BENCHMARKS.md, "Unix socket buffers").
//
// This watches the socket through libzmq's documented monitor: the value of ZMQ_EVENT_CONNECTED
// and ZMQ_EVENT_ACCEPTED is the new connection's descriptor. A helper thread receives those
// events and sets SO_SNDBUF on each descriptor that is a Unix stream socket; TCP is left alone
// (ZMQ_SNDBUF and the kernel's autotuning serve it). The kernel caps the request at
// net.core.wmem_max and doubles it for its bookkeeping. Construct it before the socket binds or
// connects, and destroy it before the socket (declare it after the socket).
class IpcSendBuffer {
public:
    IpcSendBuffer(zmq::socket_t& socket, int bytes);
    ~IpcSendBuffer();
    IpcSendBuffer(const IpcSendBuffer&) = delete;
    IpcSendBuffer& operator=(const IpcSendBuffer&) = delete;

    // Connections seen (connected or accepted), and those of them whose buffer was set.
    struct Counts {
        unsigned seen = 0;
        unsigned tuned = 0;
    };
    // Waits at most `timeout` until `seen` connections have been handled; returns the counts.
    [[nodiscard]] Counts wait_seen(unsigned seen, std::chrono::milliseconds timeout) const;

private:
    void watch(zmq::socket_t monitor);

    zmq::socket_t& m_socket;
    int m_bytes;
    mutable std::mutex m_mutex;
    mutable std::condition_variable m_changed;
    Counts m_counts; // guarded by m_mutex
    std::atomic<bool> m_stopping{false};
    std::thread m_thread;
};

// What IpcSendBuffer asks for on the nodes' data-carrying sockets: room for several results of
// the default batch size (the kernel makes it 4 MiB where net.core.wmem_max allows).
inline constexpr int k_ipc_send_buffer = 2 * 1024 * 1024;

enum class Received { nothing, message, oversized };

// Takes one whole multipart message if one is waiting, without blocking. A message with more than
// `max_frames` frames is consumed whole and reported as oversized.
[[nodiscard]] Received receive(zmq::socket_t& socket, Frames& frames, std::size_t max_frames);

// A message that takes over `buffer`'s bytes without copying them; ZeroMQ frees the string once
// the message (and every copy of it) is gone.
[[nodiscard]] zmq::message_t message_from(std::unique_ptr<std::string> buffer);

enum class Sent { ok, would_block, unreachable };

// Sends [routing id], header, data frames as one message without blocking. `data` frames are moved
// out (left empty). would_block: the peer's queue is full or not connected; unreachable: a ROUTER's
// peer is gone.
[[nodiscard]] Sent send(zmq::socket_t& socket, const zmq::message_t* routing_id,
                        std::string_view header, std::span<zmq::message_t> data = {});

// zmq_poll's contract with fewer system calls: waits at most `timeout` (negative: no limit) until
// an item is ready and returns the number of ready items, with their revents set. libzmq 4.3's
// zmq_poll asks ZMQ_EVENTS of every socket before and after it waits, and each answer costs a
// getpid() and a poll() of the socket's mailbox; this one asks only sockets that may have changed
// (see `receive`, which marks a socket found empty as quiet) and those whose ZMQ_FD was signalled.
// Plain descriptors (item.socket == nullptr) wake the wait; when a socket is ready without waiting
// they are reported only if their descriptor is looked at anyway (a quiet socket was skipped).
int poll(std::vector<zmq::pollitem_t>& items, std::chrono::milliseconds timeout);

} // namespace sluice::core
