// CURVE security (SPEC §9). With keys configured, every socket of the node is encrypted: binding
// sockets are CURVE servers with --curve-secret; connecting sockets are CURVE clients with their
// own
// --curve-secret and the server's --curve-server-public. With --curve-authorized DIR, a ZAP handler
// admits only clients whose public key is in one of the DIR's files (as written by `sluice
// keygen`); every refusal is logged and counted. Call configure_security() before creating any
// socket.
#pragma once

#include "core/sockets.hpp"

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

namespace sluice::core {

struct CurveOptions {
    std::string secret;        // file holding this node's Z85 secret key
    std::string server_public; // file holding the binding side's Z85 public key
    std::string authorized;    // directory of authorized clients' public key files
};

void add_curve_options(CLI::App& app, CurveOptions& options);

// Loads the keys and, with an authorized directory, starts the ZAP handler thread. Throws
// UsageError for an inconsistent combination and std::runtime_error naming a bad key file.
void configure_security(const CurveOptions& options);

[[nodiscard]] bool curve_enabled() noexcept;
// Clients refused by the ZAP handler so far.
[[nodiscard]] std::uint64_t curve_refused() noexcept;

// Makes `socket` a CURVE server (binding) or client (connecting) when keys are configured.
void apply_security(zmq::socket_t& socket, Role role);

// Stops the ZAP handler; must run before the ZeroMQ context is destroyed (run_node does it).
void stop_security() noexcept;

// Z85 key pair generation: returns {public, secret}, each 40 characters.
[[nodiscard]] std::pair<std::string, std::string> curve_keypair();

} // namespace sluice::core
