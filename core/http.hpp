#pragma once

// The little HTTP that the nodes speak: a server for GET /metrics and /status, and a client for
// `sluice run` and `sluice status` to read them. HTTP/1.1 with one request per connection
// ("Connection: close"), no TLS, no chunking, no keep-alive: all that a Prometheus scrape, curl
// and the launcher need. It replaced cpp-httplib, whose shared library (with OpenSSL, zlib and
// brotli behind it) cost every node ~7 ms of CPU and ~240 page faults before main() and a pool of
// eight threads at start; see docs/BENCHMARKS.md, "Start-up".

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace sluice::core::http {

struct Response {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
};

// What a request asks for, or why it cannot be served (an HTTP status and a reason).
struct Request {
    std::string method;
    std::string path; // the target without its query
};
struct RequestError {
    int status;
    std::string reason;
};

// Where the head (the lines up to the first empty one) ends in `data`, just past that empty line;
// npos while it is incomplete. Lines end in LF, with or without a CR before it.
[[nodiscard]] std::size_t head_end(std::string_view data) noexcept;

// Parses the head of a request (request line and header lines, ending in an empty line):
// a Request when it is well formed, else the status to answer it with.
[[nodiscard]] std::variant<Request, RequestError> parse_request(std::string_view head);

// "HTTP/1.1 <status> <reason>" with Content-Type, Content-Length and Connection: close; the
// body only when with_body (HEAD asks for the head alone).
[[nodiscard]] std::string render_response(const Response& response, bool with_body);

// Serves GET and HEAD requests on HOST:PORT from its own thread until destroyed, answering each
// with handler(path). Several connections are served at once, each within a deadline, so a slow
// or silent client delays nobody else. A request it cannot serve (malformed, too long, another
// method or version) is answered with its status and reason, and reported to on_refused (called
// on the server's thread). Throws std::runtime_error naming the address when it cannot be bound.
class Server {
public:
    using Handler = std::function<Response(std::string_view path)>;
    using Refusal = std::function<void(int status)>;
    Server(const std::string& host, int port, Handler handler,
           std::chrono::milliseconds deadline = std::chrono::seconds(5), Refusal on_refused = {});
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;
    // The bound port: the one asked for, or the free one picked for port 0.
    [[nodiscard]] int port() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> m_impl;
};

struct ClientResult {
    std::string error; // empty when an answer came; else what went wrong ("cannot connect", ...)
    int status = 0;
    std::string body;
};

// Reads a whole answer (all that arrived until the server closed): its status and body, or why
// it is not one.
[[nodiscard]] ClientResult parse_answer(std::string_view answer);

// GET http://host:port/path, waiting at most `timeout` for the connection and as long again for
// the whole answer.
[[nodiscard]] ClientResult get(const std::string& host, int port, const std::string& path,
                               std::chrono::milliseconds timeout);

} // namespace sluice::core::http
