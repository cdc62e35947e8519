#include "core/msgpack_writer.hpp"
#include "core/protocol.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <string>
#include <string_view>
#include <vector>

using sluice::core::data_frames;
using sluice::core::decode_header;
using sluice::core::encode_header;
using sluice::core::Header;
using sluice::core::msg_type_name;
using sluice::core::MsgType;
using sluice::core::MsgWriter;

namespace {

struct TypeRow {
    MsgType type;
    int code;
    std::string_view name;
    std::size_t frames;
};

// The table of core/protocol.hpp, transcribed: type, wire code, name, data frames.
const std::vector<TypeRow>& table() {
    static const std::vector<TypeRow> rows = {
        {MsgType::stream_batch, 1, "stream_batch", 1},    // readings
        {MsgType::stream_end, 2, "stream_end", 0},        //
        {MsgType::stream_ack, 3, "stream_ack", 0},        //
        {MsgType::worker_hello, 10, "worker_hello", 0},   //
        {MsgType::job_config, 11, "job_config", 1},       // config
        {MsgType::task, 12, "task", 2},                   // readings, history
        {MsgType::task_done, 13, "task_done", 0},         //
        {MsgType::heartbeat, 14, "heartbeat", 0},         //
        {MsgType::reset, 15, "reset", 0},                 //
        {MsgType::job_end, 16, "job_end", 0},             //
        {MsgType::worker_bye, 17, "worker_bye", 0},       //
        {MsgType::task_refused, 18, "task_refused", 0},   //
        {MsgType::result, 20, "result", 1},               // formatted records
        {MsgType::sink_hello, 30, "sink_hello", 0},       //
        {MsgType::job_start, 31, "job_start", 0},         //
        {MsgType::sink_commit, 32, "sink_commit", 0},     //
        {MsgType::sink_end, 33, "sink_end", 0},           //
        {MsgType::sink_finished, 34, "sink_finished", 0}, //
        {MsgType::finish_ack, 35, "finish_ack", 0},       //
    };
    return rows;
}

std::string bytes(std::initializer_list<int> list) {
    std::string out;
    for (const int b : list) out.push_back(static_cast<char>(b));
    return out;
}

// A header written element by element, so tests can break any one of them.
struct RawHeader {
    std::uint32_t elements = 8;
    std::string magic = "SLUICE";
    std::uint64_t version = 4; // the version this build speaks
    std::uint64_t type = 14;
    std::uint64_t id = 0;
    std::uint64_t seq = 0;
    std::uint64_t count = 0;
    std::uint64_t extra = 0;
    std::string name;

    std::string encode() const {
        std::string out;
        MsgWriter w(out);
        w.array(elements);
        const std::uint64_t fields[] = {version, type, id, seq, count, extra};
        if (elements == 0) return out;
        w.str(magic);
        for (std::uint32_t i = 1; i < elements && i < 7; ++i) w.uint(fields[i - 1]);
        if (elements >= 8) w.str(name);
        for (std::uint32_t i = 8; i < elements; ++i) w.uint(i);
        return out;
    }
};

std::optional<Header> decode(const std::string& frame, std::string& error) {
    return decode_header(frame, error);
}

} // namespace

TEST_CASE("every message type round trips with all its fields", "[protocol]") {
    std::uint64_t n = 1;
    for (const TypeRow& row : table()) {
        INFO(row.name);
        Header h;
        h.type = row.type;
        h.id = n;
        h.seq = n * 1000003u;
        h.count = n << 33;
        h.extra = 0xffffffffffffffffu - n;
        const std::string name = "host-" + std::to_string(n) + ":" + std::to_string(4242 + n);
        h.name = name;
        ++n;
        const std::string frame = encode_header(h);
        std::string error;
        const auto out = decode(frame, error);
        REQUIRE(out.has_value());
        CHECK(error.empty());
        CHECK(out->type == row.type);
        CHECK(out->id == h.id);
        CHECK(out->seq == h.seq);
        CHECK(out->count == h.count);
        CHECK(out->extra == h.extra);
        CHECK(out->name == name);
        // The name points into the frame.
        CHECK(out->name.data() >= frame.data());
        CHECK(out->name.data() + out->name.size() == frame.data() + frame.size());
    }
}

TEST_CASE("a default header round trips with zero fields and an empty name", "[protocol]") {
    const std::string frame = encode_header(Header{});
    // [fixarray 8, "SLUICE" (7), 1, 14, 0, 0, 0, 0, ""] = 1 + 7 + 6 + 1
    CHECK(frame.size() == 15);
    std::string error;
    const auto out = decode(frame, error);
    REQUIRE(out.has_value());
    CHECK(out->type == MsgType::heartbeat);
    CHECK(out->id == 0);
    CHECK(out->name.empty());
}

TEST_CASE("a header encodes to the exact bytes computed by hand", "[protocol]") {
    Header h;
    h.type = MsgType::task;
    h.id = 1;
    h.seq = 200;
    h.count = 70000;
    h.extra = 0;
    h.name = "host:42";
    const std::string frame = encode_header(h);
    // 1 (fixarray) + 7 ("SLUICE") + 1 (version) + 1 (type 12) + 1 (id 1) + 2 (uint8 200)
    // + 5 (uint32 70000) + 1 (extra 0) + 8 ("host:42") = 27; version 4 is the byte after "SLUICE"
    CHECK(frame.size() == 27);
    const std::string expected =
        bytes({0x98, 0xa6, 'S',  'L',  'U',  'I',  'C', 'E', 0x04, 0x0c, 0x01, 0xcc, 0xc8, 0xce,
               0x00, 0x01, 0x11, 0x70, 0x00, 0xa7, 'h', 'o', 's',  't',  ':',  '4',  '2'});
    CHECK(frame == expected);
}

TEST_CASE("a header with another magic is not a Sluice message", "[protocol]") {
    for (const std::string magic : {"SLUICX", "sluice", "SLUIC", "SLUICEE", ""}) {
        RawHeader raw;
        raw.magic = magic;
        std::string error;
        CHECK_FALSE(decode(raw.encode(), error).has_value());
        CHECK(error == "not a Sluice message");
    }
    std::string error;
    CHECK_FALSE(decode("", error).has_value());
    CHECK(error == "not a Sluice message");
    CHECK_FALSE(decode(bytes({0x98, 0x01}), error).has_value());
    CHECK(error == "not a Sluice message");
}

TEST_CASE("a header of another version is refused and the error names the version", "[protocol]") {
    std::string error;
    RawHeader raw;
    raw.version = 1; // before history values became bins
    CHECK_FALSE(decode(raw.encode(), error).has_value());
    CHECK(error == "protocol version 1 (this node speaks 4)");
    raw.version = 2; // before history entries carried the sensor's count (deltas)
    CHECK_FALSE(decode(raw.encode(), error).has_value());
    CHECK(error == "protocol version 2 (this node speaks 4)");
    raw.version = 3; // before the job's config bounded a worker's windows
    CHECK_FALSE(decode(raw.encode(), error).has_value());
    CHECK(error == "protocol version 3 (this node speaks 4)");
    raw.version = 5;
    CHECK_FALSE(decode(raw.encode(), error).has_value());
    CHECK(error == "protocol version 5 (this node speaks 4)");
    raw.version = 0;
    CHECK_FALSE(decode(raw.encode(), error).has_value());
    CHECK(error == "protocol version 0 (this node speaks 4)");
    raw.version = 0xffffffffffffffffu;
    CHECK_FALSE(decode(raw.encode(), error).has_value());
    CHECK(error.find("18446744073709551615") != std::string::npos);
    // A version that is not a number.
    const std::string text_version = bytes(
        {0x98, 0xa6, 'S', 'L', 'U', 'I', 'C', 'E', 0xa1, '1', 0x0e, 0x00, 0x00, 0x00, 0x00, 0xa0});
    CHECK_FALSE(decode(text_version, error).has_value());
    CHECK(error == "malformed header (version)");
}

TEST_CASE("a header of an unknown type is refused and the error names the type", "[protocol]") {
    for (const std::uint64_t type : {0u, 4u, 9u, 19u, 21u, 29u, 36u, 99u, 255u}) {
        INFO("type " << type);
        RawHeader raw;
        raw.type = type;
        std::string error;
        CHECK_FALSE(decode(raw.encode(), error).has_value());
        CHECK(error == "unknown message type " + std::to_string(type));
    }
    // Types that a truncation to 8 bits would turn into known ones.
    for (const std::uint64_t type : {std::uint64_t{268}, std::uint64_t{257}, std::uint64_t{65550},
                                     std::uint64_t{0x100000014}}) {
        INFO("type " << type);
        RawHeader raw;
        raw.type = type;
        std::string error;
        CHECK_FALSE(decode(raw.encode(), error).has_value());
        CHECK(error.find(std::to_string(type)) != std::string::npos);
    }
}

TEST_CASE("a header of 7 or 9 elements is refused", "[protocol]") {
    for (const std::uint32_t elements : {0u, 1u, 7u, 9u, 15u}) {
        INFO(elements << " elements");
        RawHeader raw;
        raw.elements = elements;
        std::string error;
        CHECK_FALSE(decode(raw.encode(), error).has_value());
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("a header with a wrongly typed field or trailing bytes is refused", "[protocol]") {
    const std::string good = RawHeader{}.encode();
    std::string error;
    REQUIRE(decode(good, error).has_value());
    CHECK_FALSE(decode(good + bytes({0x00}), error).has_value());
    CHECK(error == "malformed header");
    // A negative id: [.., 1, 14, -1, 0, 0, 0, ""].
    CHECK_FALSE(decode(bytes({0x98, 0xa6, 'S', 'L', 'U', 'I', 'C', 'E', 0x04, 0x0e, 0xff, 0x00,
                              0x00, 0x00, 0xa0}),
                       error)
                    .has_value());
    CHECK(error == "malformed header");
    // A float seq.
    CHECK_FALSE(decode(bytes({0x98, 0xa6, 'S', 'L', 'U', 'I', 'C', 'E', 0x04, 0x0e, 0x00, 0xca,
                              0x3f, 0x80, 0x00, 0x00, 0x00, 0x00, 0xa0}),
                       error)
                    .has_value());
    // A name that is a number.
    CHECK_FALSE(decode(bytes({0x98, 0xa6, 'S', 'L', 'U', 'I', 'C', 'E', 0x04, 0x0e, 0x00, 0x00,
                              0x00, 0x00, 0x00}),
                       error)
                    .has_value());
    // A name that is bin.
    CHECK_FALSE(decode(bytes({0x98, 0xa6, 'S', 'L', 'U', 'I', 'C', 'E', 0x04, 0x0e, 0x00, 0x00,
                              0x00, 0x00, 0xc4, 0x00}),
                       error)
                    .has_value());
    // The magic as bin rather than str.
    CHECK_FALSE(decode(bytes({0x98, 0xc4, 0x06, 'S', 'L', 'U', 'I', 'C', 'E', 0x04, 0x0e, 0x00,
                              0x00, 0x00, 0x00, 0xa0}),
                       error)
                    .has_value());
    CHECK(error == "not a Sluice message");
}

TEST_CASE("a header truncated at any length is refused", "[protocol]") {
    Header h;
    h.type = MsgType::result;
    h.id = 77;
    h.seq = 0xffffffffffffu;
    h.count = 300;
    h.extra = 2;
    h.name = "worker-host.example.org:123456";
    const std::string frame = encode_header(h);
    for (std::size_t n = 0; n < frame.size(); ++n) {
        INFO("prefix of " << n << " bytes");
        const std::string p(frame.data(), n);
        std::string error;
        CHECK_FALSE(decode(p, error).has_value());
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("random bytes never crash decode_header and anything accepted re-encodes the same",
          "[protocol]") {
    std::mt19937_64 rng(20240601);
    const std::string valid = encode_header(Header{MsgType::task, 5, 6, 7, 8, "n"});
    std::size_t accepted = 0;
    for (int i = 0; i < 100000; ++i) {
        std::string frame;
        const int mode = i % 3;
        if (mode == 0) {
            // Pure noise.
            frame.resize(rng() % 48);
            for (char& c : frame) c = static_cast<char>(rng());
        } else if (mode == 1) {
            // A valid header with a few bytes changed.
            frame = valid;
            const int flips = 1 + static_cast<int>(rng() % 3);
            for (int f = 0; f < flips; ++f) frame[rng() % frame.size()] = static_cast<char>(rng());
        } else {
            // A valid prefix followed by noise.
            frame = valid.substr(0, rng() % valid.size());
            const std::size_t tail = rng() % 16;
            for (std::size_t t = 0; t < tail; ++t) frame.push_back(static_cast<char>(rng()));
        }
        const std::string exact(frame); // exact-size copy for ASan
        std::string error;
        const auto h = decode_header(exact, error);
        if (!h) {
            REQUIRE_FALSE(error.empty());
            continue;
        }
        ++accepted;
        REQUIRE(msg_type_name(h->type) != "unknown");
        const std::string again = encode_header(*h);
        std::string error2;
        const auto h2 = decode_header(again, error2);
        REQUIRE(h2.has_value());
        REQUIRE(h2->type == h->type);
        REQUIRE(h2->id == h->id);
        REQUIRE(h2->seq == h->seq);
        REQUIRE(h2->count == h->count);
        REQUIRE(h2->extra == h->extra);
        REQUIRE(h2->name == h->name);
    }
    // Single-byte changes of a valid header (e.g. to another known type) decode.
    CHECK(accepted > 0);
}

TEST_CASE("data_frames and msg_type_name match the table in protocol.hpp", "[protocol]") {
    std::size_t most = 0;
    for (const TypeRow& row : table()) {
        INFO(row.name);
        CHECK(static_cast<int>(row.type) == row.code);
        CHECK(data_frames(row.type) == row.frames);
        CHECK(msg_type_name(row.type) == row.name);
        most = std::max(most, row.frames);
    }
    CHECK(sluice::core::k_max_frames == 1 + most);
    CHECK(msg_type_name(static_cast<MsgType>(99)) == "unknown");
    CHECK(data_frames(static_cast<MsgType>(99)) == 0);
}

TEST_CASE("every wire code from 0 to 255 decodes exactly when the table lists it", "[protocol]") {
    for (int code = 0; code < 256; ++code) {
        bool listed = false;
        for (const TypeRow& row : table()) listed = listed || row.code == code;
        RawHeader raw;
        raw.type = static_cast<std::uint64_t>(code);
        std::string error;
        INFO("code " << code);
        CHECK(decode(raw.encode(), error).has_value() == listed);
    }
}
