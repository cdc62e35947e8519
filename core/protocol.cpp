#include "core/protocol.hpp"

#include "core/msgpack_reader.hpp"
#include "core/msgpack_writer.hpp"

namespace sluice::core {

std::string_view msg_type_name(MsgType type) noexcept {
    switch (type) {
    case MsgType::stream_batch:
        return "stream_batch";
    case MsgType::stream_end:
        return "stream_end";
    case MsgType::stream_ack:
        return "stream_ack";
    case MsgType::worker_hello:
        return "worker_hello";
    case MsgType::job_config:
        return "job_config";
    case MsgType::task:
        return "task";
    case MsgType::task_done:
        return "task_done";
    case MsgType::task_refused:
        return "task_refused";
    case MsgType::heartbeat:
        return "heartbeat";
    case MsgType::reset:
        return "reset";
    case MsgType::job_end:
        return "job_end";
    case MsgType::worker_bye:
        return "worker_bye";
    case MsgType::result:
        return "result";
    case MsgType::sink_hello:
        return "sink_hello";
    case MsgType::job_start:
        return "job_start";
    case MsgType::sink_commit:
        return "sink_commit";
    case MsgType::sink_end:
        return "sink_end";
    case MsgType::sink_finished:
        return "sink_finished";
    case MsgType::finish_ack:
        return "finish_ack";
    }
    return "unknown";
}

std::size_t data_frames(MsgType type) noexcept {
    switch (type) {
    case MsgType::stream_batch:
    case MsgType::job_config:
    case MsgType::result:
        return 1;
    case MsgType::task:
        return 2;
    default:
        return 0;
    }
}

std::string encode_header(const Header& h) {
    std::string out;
    out.reserve(32 + h.name.size());
    MsgWriter w(out);
    w.array(8);
    w.str(k_protocol_magic);
    w.uint(k_protocol_version);
    w.uint(static_cast<std::uint64_t>(h.type));
    w.uint(h.id);
    w.uint(h.seq);
    w.uint(h.count);
    w.uint(h.extra);
    w.str(h.name);
    return out;
}

std::optional<Header> decode_header(std::string_view frame, std::string& error) {
    MsgReader r(frame);
    std::uint32_t n = 0;
    std::string_view magic;
    if (!r.read_array(n) || n != 8 || !r.read_str(magic) || magic != k_protocol_magic) {
        error = "not a Sluice message";
        return std::nullopt;
    }
    std::uint64_t version = 0;
    std::uint64_t type = 0;
    if (!r.read_uint(version)) {
        error = "malformed header (version)";
        return std::nullopt;
    }
    if (version != k_protocol_version) {
        error = "protocol version " + std::to_string(version) + " (this node speaks " +
                std::to_string(k_protocol_version) + ")";
        return std::nullopt;
    }
    Header h;
    if (!r.read_uint(type) || !r.read_uint(h.id) || !r.read_uint(h.seq) || !r.read_uint(h.count) ||
        !r.read_uint(h.extra) || !r.read_str(h.name) || !r.at_end()) {
        error = "malformed header";
        return std::nullopt;
    }
    h.type = static_cast<MsgType>(type);
    if (type > 0xFF || msg_type_name(h.type) == "unknown") {
        error = "unknown message type " + std::to_string(type);
        return std::nullopt;
    }
    return h;
}

} // namespace sluice::core
