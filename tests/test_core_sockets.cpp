#include "core/clock.hpp"
#include "core/sockets.hpp"

#include <catch2/catch.hpp>
#include <string>
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
