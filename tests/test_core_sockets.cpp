#include "core/clock.hpp"
#include "core/sockets.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace sluice::core;

// core::poll skips ZMQ_EVENTS for sockets it knows to be quiet and blocks on their ZMQ_FD instead.
// These cases are the ways that could lose a message: each would leave poll waiting out its
// timeout (or reporting nothing) if a socket were wrongly taken for quiet.

namespace {

// Two sockets over a fresh inproc endpoint (inproc pipes exist at once): `in` bound, `out`
// connected, PULL and PUSH unless told otherwise.
struct Link {
    zmq::socket_t in, out;
    explicit Link(const std::string& name, zmq::socket_type in_type = zmq::socket_type::pull,
                  zmq::socket_type out_type = zmq::socket_type::push)
        : in(make_socket(in_type, Role::binding, 10, 10)),
          out(make_socket(out_type, Role::connecting, 10, 10)) {
        const std::string endpoint = "inproc://test-sockets-" + name;
        (void)sluice::core::bind(in, endpoint, "--test");
        sluice::core::connect(out, endpoint, "--test");
    }
};

bool got_one(zmq::socket_t& s) {
    Frames frames;
    return receive(s, frames, 4) == Received::message && frames.size() == 1 &&
           frames[0].to_string() == "m";
}

} // namespace

TEST_CASE("poll wakes for a message to a socket that was found empty", "[sockets]") {
    Link link("empty");
    auto& [pull, push] = link;
    Frames frames;
    REQUIRE(receive(pull, frames, 4) == Received::nothing); // now quiet
    REQUIRE(send(push, nullptr, "m") == Sent::ok);
    std::vector<zmq::pollitem_t> items = {{pull.handle(), 0, ZMQ_POLLIN, 0}};
    CHECK(poll(items, Millis(5000)) == 1);
    CHECK(items[0].revents == ZMQ_POLLIN);
    CHECK(got_one(pull));
}

TEST_CASE("poll asks a socket that sent since it was found empty", "[sockets]") {
    // A send processes the socket's pending commands: here the one that announces the peer's
    // message, so its signal is consumed and only ZMQ_EVENTS still shows the message. (The first
    // send on a socket always processes its commands: libzmq throttles that by time since the
    // last time, and there was none.)
    Link link("sent", zmq::socket_type::dealer, zmq::socket_type::dealer);
    auto& [x, y] = link;
    Frames frames;
    REQUIRE(receive(x, frames, 4) == Received::nothing); // quiet
    REQUIRE(send(y, nullptr, "m") == Sent::ok);
    REQUIRE(send(x, nullptr, "to y") == Sent::ok);
    std::vector<zmq::pollitem_t> items = {{x.handle(), 0, ZMQ_POLLIN, 0}};
    CHECK(poll(items, Millis(5000)) == 1);
    CHECK(items[0].revents == ZMQ_POLLIN);
    CHECK(got_one(x));
}

TEST_CASE("a socket with input does not hide a quiet one that has input too", "[sockets]") {
    Link one("busy"), two("quiet");
    auto& [busy, busy_peer] = one;
    auto& [quiet, quiet_peer] = two;
    Frames frames;
    REQUIRE(receive(quiet, frames, 4) == Received::nothing);
    REQUIRE(send(busy_peer, nullptr, "m") == Sent::ok);
    REQUIRE(send(quiet_peer, nullptr, "m") == Sent::ok);
    std::vector<zmq::pollitem_t> items = {{busy.handle(), 0, ZMQ_POLLIN, 0},
                                          {quiet.handle(), 0, ZMQ_POLLIN, 0}};
    CHECK(poll(items, Millis(0)) == 2);
    CHECK(items[0].revents == ZMQ_POLLIN);
    CHECK(items[1].revents == ZMQ_POLLIN);
    CHECK(got_one(busy));
    CHECK(got_one(quiet));
}

TEST_CASE("poll reports plain descriptors and times out when nothing comes", "[sockets]") {
    Link link("plain");
    auto& pull = link.in;
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    std::vector<zmq::pollitem_t> items = {{pull.handle(), 0, ZMQ_POLLIN, 0},
                                          {nullptr, fds[0], ZMQ_POLLIN, 0}};
    CHECK(poll(items, Millis(20)) == 0);
    CHECK(items[0].revents == 0);
    CHECK(items[1].revents == 0);
    REQUIRE(::write(fds[1], "x", 1) == 1);
    CHECK(poll(items, Millis(5000)) == 1);
    CHECK(items[0].revents == 0);
    CHECK(items[1].revents == ZMQ_POLLIN);
    ::close(fds[0]);
    ::close(fds[1]);
}

TEST_CASE("poll reports what is left after a receive", "[sockets]") {
    Link link("left");
    auto& [pull, push] = link;
    Frames frames;
    REQUIRE(receive(pull, frames, 4) == Received::nothing);
    REQUIRE(send(push, nullptr, "m") == Sent::ok);
    REQUIRE(send(push, nullptr, "m") == Sent::ok);
    REQUIRE(got_one(pull));
    std::vector<zmq::pollitem_t> items = {{pull.handle(), 0, ZMQ_POLLIN, 0}};
    CHECK(poll(items, Millis(0)) == 1);
    CHECK(items[0].revents == ZMQ_POLLIN);
    CHECK(got_one(pull));
    CHECK(poll(items, Millis(0)) == 0);
}

// IpcSendBuffer: the kernel's send buffer of ipc:// connections. Each case finds the connection's
// two descriptors in /proc/self/fd by their Unix addresses and reads SO_SNDBUF from the kernel;
// the expected size is computed from the sysctls, as the kernel documents it (socket(7): the
// value set is doubled, and capped by net.core.wmem_max; a new socket gets wmem_default).

namespace {

long read_sysctl(const std::string& name) {
    std::ifstream in("/proc/sys/net/core/" + name);
    long value = 0;
    in >> value;
    return value;
}

int send_buffer(int fd) {
    int size = 0;
    socklen_t length = sizeof size;
    REQUIRE(getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, &length) == 0);
    return size;
}

// The descriptors of this process's Unix stream connection to `path`: the connecting end (its
// peer is `path`) and the accepted end (its own name is `path`).
struct Ends {
    int connecting = -1;
    int accepted = -1;
};

Ends find_ends(const std::string& path) {
    Ends ends;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
        const int fd = std::stoi(entry.path().filename().string());
        int domain = 0;
        socklen_t length = sizeof domain;
        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &length) != 0 || domain != AF_UNIX)
            continue;
        sockaddr_un address{};
        length = sizeof address;
        if (getpeername(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
            path == address.sun_path)
            ends.connecting = fd;
        address = {};
        length = sizeof address;
        if (getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0 &&
            path == address.sun_path) {
            int listening = 0;
            length = sizeof listening;
            if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0 && !listening)
                ends.accepted = fd;
        }
    }
    return ends;
}

struct TempDir {
    std::string path;
    TempDir() {
        std::string pattern = (std::filesystem::temp_directory_path() / "sluice-ipc-XXXXXX");
        REQUIRE(mkdtemp(pattern.data()) != nullptr);
        path = pattern;
    }
    ~TempDir() { std::filesystem::remove_all(path); }
};

// One message across: the connection exists (a bound PUSH can send only once it does).
void exchange(zmq::socket_t& push, zmq::socket_t& pull) {
    std::vector<zmq::pollitem_t> writable = {{push.handle(), 0, ZMQ_POLLOUT, 0}};
    REQUIRE(poll(writable, Millis(5000)) == 1);
    REQUIRE(send(push, nullptr, "m") == Sent::ok);
    std::vector<zmq::pollitem_t> items = {{pull.handle(), 0, ZMQ_POLLIN, 0}};
    REQUIRE(poll(items, Millis(5000)) == 1);
    REQUIRE(got_one(pull));
}

constexpr int k_asked = 1 << 20;

int expected_buffer() {
    return 2 * static_cast<int>(std::min<long>(k_asked, read_sysctl("wmem_max")));
}

// PUSH and PULL over a fresh ipc:// path; the IpcSendBuffer watches the PUSH, which binds or
// connects as `push_role` says. Checks that the tuned end, and only it, has the larger buffer.
void check_tuned_end(Role push_role) {
    const TempDir dir;
    const std::string path = dir.path + "/s";
    const std::string endpoint = "ipc://" + path;
    const Role pull_role = push_role == Role::binding ? Role::connecting : Role::binding;
    zmq::socket_t push = make_socket(zmq::socket_type::push, push_role, 10, 10);
    zmq::socket_t pull = make_socket(zmq::socket_type::pull, pull_role, 10, 10);
    const IpcSendBuffer buffer(push, k_asked);
    if (push_role == Role::binding) {
        (void)sluice::core::bind(push, endpoint, "--test");
        sluice::core::connect(pull, endpoint, "--test");
    } else {
        (void)sluice::core::bind(pull, endpoint, "--test");
        sluice::core::connect(push, endpoint, "--test");
    }
    exchange(push, pull);
    const auto counts = buffer.wait_seen(1, Millis(5000));
    CHECK(counts.seen == 1);
    CHECK(counts.tuned == 1);
    const Ends ends = find_ends(path);
    REQUIRE(ends.connecting >= 0);
    REQUIRE(ends.accepted >= 0);
    const int ours = push_role == Role::binding ? ends.accepted : ends.connecting;
    const int theirs = push_role == Role::binding ? ends.connecting : ends.accepted;
    CHECK(send_buffer(ours) == expected_buffer());
    CHECK(send_buffer(theirs) == read_sysctl("wmem_default")); // not watched: untouched
}

} // namespace

TEST_CASE("IpcSendBuffer enlarges the send buffer of an ipc connection it makes",
          "[sockets][threads]") {
    check_tuned_end(Role::connecting);
}

TEST_CASE("IpcSendBuffer enlarges the send buffer of ipc connections it accepts",
          "[sockets][threads]") {
    check_tuned_end(Role::binding);
}

TEST_CASE("IpcSendBuffer leaves TCP connections alone", "[sockets][threads]") {
    zmq::socket_t pull = make_socket(zmq::socket_type::pull, Role::binding, 10, 10);
    zmq::socket_t push = make_socket(zmq::socket_type::push, Role::connecting, 10, 10);
    const IpcSendBuffer buffer(push, k_asked);
    const std::string endpoint = sluice::core::bind(pull, "tcp://127.0.0.1:0", "--test");
    sluice::core::connect(push, endpoint, "--test");
    exchange(push, pull);
    const auto counts = buffer.wait_seen(1, Millis(5000));
    CHECK(counts.seen == 1);
    CHECK(counts.tuned == 0);
}
