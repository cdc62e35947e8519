#include "core/options.hpp"
#include "core/security.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

using namespace sluice::core;
namespace fs = std::filesystem;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/sluice-test-security-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

void write(const fs::path& p, const std::string& text) {
    std::ofstream(p) << text << '\n';
}

// Waits (bounded by zmq_poll timeouts) for one message on `s`.
bool receives(zmq::socket_t& s, int timeout_ms) {
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0) return false;
    Frames frames;
    return receive(s, frames, 4) == Received::message;
}

} // namespace

// The ZAP handler answers from its own thread while this one uses the sockets: run under TSan.
TEST_CASE("CURVE admits an authorized client key and refuses and counts another",
          "[security][threads]") {
    TempDir dir;
    const auto [server_public, server_secret] = curve_keypair();
    const auto [client_public, client_secret] = curve_keypair();
    const auto [intruder_public, intruder_secret] = curve_keypair();
    fs::create_directory(dir.path / "auth");
    write(dir.path / "server.secret", server_secret);
    write(dir.path / "server.public", server_public);
    write(dir.path / "auth" / "client.public", client_public);
    write(dir.path / "auth" / "notes.txt", "not a key file: ignored");

    configure_security({(dir.path / "server.secret").string(), "", (dir.path / "auth").string()});
    REQUIRE(curve_enabled());
    const std::uint64_t refused_before = curve_refused();
    {
        auto server = make_socket(zmq::socket_type::pull, Role::binding, 100, 100);
        const std::string endpoint = "ipc://" + (dir.path / "s").string();
        (void)sluice::core::bind(server, endpoint, "--bind");

        auto client_with = [&](const std::string& public_key, const std::string& secret_key) {
            zmq::socket_t c(zmq_context(), zmq::socket_type::push);
            c.set(zmq::sockopt::linger, 0);
            c.set(zmq::sockopt::curve_serverkey, server_public);
            c.set(zmq::sockopt::curve_publickey, public_key);
            c.set(zmq::sockopt::curve_secretkey, secret_key);
            c.connect(endpoint);
            (void)c.send(zmq::str_buffer("hello"), zmq::send_flags::dontwait);
            return c;
        };
        auto intruder = client_with(intruder_public, intruder_secret);
        CHECK_FALSE(receives(server, 500));
        auto client = client_with(client_public, client_secret);
        CHECK(receives(server, 5000));
    }
    CHECK(curve_refused() > refused_before);
    stop_security();
    CHECK_FALSE(curve_enabled());
}

TEST_CASE("a key file that does not hold a Z85 key is refused with its name", "[security]") {
    TempDir dir;
    write(dir.path / "bad.secret", "not-a-key");
    CHECK_THROWS_WITH(configure_security({(dir.path / "bad.secret").string(), "", ""}),
                      Catch::Contains("bad.secret") && Catch::Contains("Z85"));
    stop_security();
    CHECK_THROWS_AS(configure_security({"", (dir.path / "bad.secret").string(), ""}), UsageError);
}
