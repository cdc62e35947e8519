// clang-format off
// The Sluice wire protocol, version 4 (docs/PROTOCOL.md). Every message is a ZeroMQ multipart
// message whose first frame is a header, a msgpack array of exactly 8 elements:
//
//     ["SLUICE", version:uint, type:uint, id:uint, seq:uint, count:uint, extra:uint, name:str]
//
// followed by the data frames its type names. Unused fields are 0 (or ""). Peers check the magic
// and the version of every message; anything else is counted and dropped.
//
// | type          | from -> to     | id        | seq               | count           | extra         | name / data frames          |
// |---------------|----------------|-----------|-------------------|-----------------|---------------|-----------------------------|
// | stream_batch  | ingest -> vent | stream id | batch number      | readings        | origin us     | readings                    |
// | stream_end    | ingest -> vent | stream id | batches in stream | readings total  | 0             |                             |
// | stream_ack    | vent -> ingest | stream id | batches accepted  | 0               | 1 end, 2 closed |                           |
// | worker_hello  | worker -> vent | 0         | 0                 | 0               | credits       | name "host:pid"             |
// | job_config    | vent -> worker | job id    | 0                 | 0               | 0             | config                      |
// | task          | vent -> worker | job id    | global batch seq  | readings        | origin us     | readings, history           |
// | task_done     | worker -> vent | job id    | global batch seq  | readings        | 0             |                             |
// | task_refused  | worker -> vent | job id    | global batch seq  | 0               | 0             | (history does not continue  |
// |               |                |           |                   |                 |               |  this worker's windows)     |
// | heartbeat     | both ways      | job id    | 0                 | 0               | 0             |                             |
// | reset         | vent -> worker | job id    | 0                 | 0               | 0             | (say hello again)           |
// | job_end       | vent -> worker | job id    | 0                 | 0               | 0             |                             |
// | worker_bye    | both ways      | job id    | 0                 | 0               | 0             |                             |
// | result        | worker -> sink | job id    | global batch seq  | records         | origin us     | name: format; records bytes |
// | sink_hello    | sink -> vent   | 0         | 0                 | 0               | format        | name                        |
// | job_start     | vent -> sink   | job id    | 0                 | 0               | 1 if heavy    |                             |
// | sink_commit   | sink -> vent   | job id    | batches written   | records written | 0             |                             |
// | sink_end      | vent -> sink   | job id    | batches in job    | records in job  | 0             |                             |
// | sink_finished | sink -> vent   | job id    | batches written   | records written | 0             |                             |
// | finish_ack    | vent -> sink   | job id    | 0                 | 0               | 0             |                             |
//
// origin us: wall-clock microseconds when the ingest opened the batch (for the sink's latency).
// The data frames' payloads are described in core/codec.hpp.
// clang-format on
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sluice::core {

inline constexpr std::uint64_t k_protocol_version = 4;
inline constexpr std::string_view k_protocol_magic = "SLUICE";
// The most frames any message has (task: header, readings, history).
inline constexpr std::size_t k_max_frames = 3;

enum class MsgType : std::uint8_t {
    stream_batch = 1,
    stream_end = 2,
    stream_ack = 3,
    worker_hello = 10,
    job_config = 11,
    task = 12,
    task_done = 13,
    heartbeat = 14,
    reset = 15,
    job_end = 16,
    worker_bye = 17,
    task_refused = 18,
    result = 20,
    sink_hello = 30,
    job_start = 31,
    sink_commit = 32,
    sink_end = 33,
    sink_finished = 34,
    finish_ack = 35,
};

[[nodiscard]] std::string_view msg_type_name(MsgType type) noexcept;

// How many data frames follow the header of each type.
[[nodiscard]] std::size_t data_frames(MsgType type) noexcept;

struct Header {
    MsgType type = MsgType::heartbeat;
    std::uint64_t id = 0;
    std::uint64_t seq = 0;
    std::uint64_t count = 0;
    std::uint64_t extra = 0;
    std::string_view name; // points into the decoded frame
};

[[nodiscard]] std::string encode_header(const Header& header);

// Decodes a header frame. On failure returns nullopt and sets `error` to a reason naming the
// problem: "not a Sluice message", "protocol version 7 (this node speaks 2)", "unknown message type
// 99".
[[nodiscard]] std::optional<Header> decode_header(std::string_view frame, std::string& error);

} // namespace sluice::core
