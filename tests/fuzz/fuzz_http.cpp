// libFuzzer target for what the HTTP server and client read from a socket: a request's head and
// a whole answer. Whatever the bytes: no crash, no read outside them, and what is accepted is
// consistent (a path that begins with '/', a status of three digits, a body inside the answer).
#include "core/http.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <variant>

namespace {

void require(bool ok) {
    if (!ok) std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace sluice::core::http;
    // A copy of exactly `size` bytes, so ASan catches any read past the end.
    const std::string buffer(reinterpret_cast<const char*>(data), size);
    const std::string_view bytes(buffer);

    const std::size_t end = head_end(bytes);
    require(end == std::string_view::npos || (end >= 2 && end <= bytes.size()));
    const auto request = parse_request(bytes.substr(0, end));
    if (const auto* r = std::get_if<Request>(&request)) {
        require(r->method == "GET" || r->method == "HEAD");
        require(!r->path.empty() && r->path[0] == '/');
        require(r->path.find_first_of("?#") == std::string::npos);
    } else {
        const auto& e = std::get<RequestError>(request);
        require(e.status == 400 || e.status == 405 || e.status == 505);
        require(!e.reason.empty());
    }

    const ClientResult answer = parse_answer(bytes);
    require(answer.body.size() <= bytes.size());
    if (answer.status == 0) require(!answer.error.empty());
    if (answer.status != 0) require(answer.status >= 100 && answer.status <= 999);
    return 0;
}
