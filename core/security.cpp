#include "core/security.hpp"

#include "core/log.hpp"
#include "core/options.hpp"
#include "core/sockets.hpp"

#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <stdexcept>
#include <thread>
#include <zmq_addon.hpp>

namespace sluice::core {

namespace {

struct Keys {
    bool enabled = false;
    std::string secret;        // Z85
    std::string public_key;    // Z85, derived from the secret
    std::string server_public; // Z85
};

Keys g_keys;
std::atomic<std::uint64_t> g_refused{0};

std::string read_key(const std::string& path, std::string_view flag) {
    std::ifstream in(path);
    if (!in)
        throw std::runtime_error("cannot read " + std::string(flag) + " key file '" + path + "'");
    std::string key;
    in >> key;
    std::uint8_t binary[32];
    if (key.size() != 40 || zmq_z85_decode(binary, key.c_str()) == nullptr) {
        throw std::runtime_error(std::string(flag) + " file '" + path +
                                 "' does not hold a 40-character Z85 CURVE key");
    }
    return key;
}

std::string z85_of(const std::uint8_t* binary) {
    char text[41] = {};
    zmq_z85_encode(text, binary, 32);
    return text;
}

// Answers ZAP requests (RFC 27) on inproc://zeromq.zap.01 from its own thread, so that every node
// gets authentication without touching its poll loop. It shares nothing with the node's thread but
// the context (thread-safe) and an atomic counter.
class ZapHandler {
public:
    explicit ZapHandler(std::set<std::string> authorized)
        : m_authorized(std::move(authorized)), m_socket(zmq_context(), zmq::socket_type::rep) {
        m_socket.set(zmq::sockopt::linger, 0);
        m_socket.bind("inproc://zeromq.zap.01");
        m_thread = std::jthread([this](std::stop_token stop) { serve(stop); });
    }
    ~ZapHandler() {
        m_thread.request_stop();
        m_thread.join();
    }
    ZapHandler(const ZapHandler&) = delete;
    ZapHandler& operator=(const ZapHandler&) = delete;

private:
    void serve(const std::stop_token& stop) {
        std::vector<zmq::message_t> request;
        while (!stop.stop_requested()) {
            zmq::pollitem_t item{m_socket.handle(), 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&item, 1, 100) <= 0) continue;
            request.clear();
            if (!zmq::recv_multipart(m_socket, std::back_inserter(request),
                                     zmq::recv_flags::dontwait))
                continue;
            answer(request);
        }
    }

    void answer(const std::vector<zmq::message_t>& r) {
        // version, request id, domain, address, routing id, mechanism, credentials...
        const bool well_formed = r.size() >= 6 && r[0].to_string_view() == "1.0";
        std::string status = "400";
        std::string text = "malformed request";
        std::string client;
        if (well_formed && r[5].to_string_view() == "CURVE" && r.size() == 7 && r[6].size() == 32) {
            client = z85_of(r[6].data<std::uint8_t>());
            if (m_authorized.contains(client)) {
                status = "200";
                text = "OK";
            } else {
                text = "public key not authorized";
                const auto n = ++g_refused;
                if (n <= 10 || n % 1000 == 0) {
                    log_warn("refused a CURVE client at ", r[3].to_string_view(), ": public key ",
                             client, " is not authorized (", n, " refused so far)");
                }
            }
        } else if (well_formed) {
            text = "CURVE required";
            ++g_refused;
        }
        std::vector<zmq::message_t> reply;
        reply.emplace_back(std::string_view("1.0"));
        reply.emplace_back(r.size() > 1 ? r[1].to_string_view() : std::string_view());
        reply.emplace_back(status);
        reply.emplace_back(text);
        reply.emplace_back(client);
        reply.emplace_back();
        (void)zmq::send_multipart(m_socket, reply);
    }

    std::set<std::string> m_authorized;
    zmq::socket_t m_socket;
    std::jthread m_thread;
};

std::unique_ptr<ZapHandler> g_zap;

std::set<std::string> load_authorized(const std::string& dir) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec))
        throw std::runtime_error("--curve-authorized '" + dir + "' is not a directory");
    std::set<std::string> keys;
    for (const auto& entry : fs::directory_iterator(dir)) {
        if (!entry.is_regular_file() || entry.path().extension() != ".public") continue;
        keys.insert(read_key(entry.path().string(), "--curve-authorized"));
    }
    return keys;
}

} // namespace

void add_curve_options(CLI::App& app, CurveOptions& o) {
    add_option(app, "--curve-secret", o.secret,
               "file with this node's CURVE secret key (sluice keygen)")
        ->group("Security");
    add_option(app, "--curve-server-public", o.server_public,
               "file with the binding side's CURVE public key (for connecting sockets)")
        ->group("Security");
    add_option(app, "--curve-authorized", o.authorized,
               "directory of authorized clients' *.public key files (binding side)")
        ->group("Security");
}

void configure_security(const CurveOptions& o) {
    if (o.secret.empty()) {
        if (!o.server_public.empty() || !o.authorized.empty()) {
            throw UsageError("--curve-server-public and --curve-authorized need --curve-secret");
        }
        return;
    }
    g_keys.enabled = true;
    g_keys.secret = read_key(o.secret, "--curve-secret");
    char public_key[41] = {};
    if (zmq_curve_public(public_key, g_keys.secret.c_str()) != 0) {
        throw std::runtime_error("cannot derive the public key of '" + o.secret + "'");
    }
    g_keys.public_key = public_key;
    if (!o.server_public.empty())
        g_keys.server_public = read_key(o.server_public, "--curve-server-public");
    if (!o.authorized.empty()) {
        auto keys = load_authorized(o.authorized);
        keys.insert(g_keys.public_key); // a node may connect to a peer that shares its key pair
        log_info("CURVE: ", keys.size(), " authorized client keys from '", o.authorized, "'");
        g_zap = std::make_unique<ZapHandler>(std::move(keys));
    }
}

void stop_security() noexcept {
    g_zap.reset();
    g_keys = Keys{};
}

bool curve_enabled() noexcept {
    return g_keys.enabled;
}
std::uint64_t curve_refused() noexcept {
    return g_refused.load();
}

void apply_security(zmq::socket_t& socket, Role role) {
    if (!g_keys.enabled) return;
    if (role == Role::binding) {
        socket.set(zmq::sockopt::curve_server, 1);
        socket.set(zmq::sockopt::curve_secretkey, g_keys.secret);
        return;
    }
    if (g_keys.server_public.empty())
        throw UsageError("connecting with CURVE needs --curve-server-public");
    socket.set(zmq::sockopt::curve_serverkey, g_keys.server_public);
    socket.set(zmq::sockopt::curve_publickey, g_keys.public_key);
    socket.set(zmq::sockopt::curve_secretkey, g_keys.secret);
}

std::pair<std::string, std::string> curve_keypair() {
    char public_key[41] = {};
    char secret_key[41] = {};
    if (zmq_curve_keypair(public_key, secret_key) != 0) {
        throw std::runtime_error(std::string("cannot make a CURVE key pair: ") +
                                 zmq_strerror(zmq_errno()));
    }
    return {public_key, secret_key};
}

} // namespace sluice::core
