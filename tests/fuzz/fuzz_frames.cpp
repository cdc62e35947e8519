// libFuzzer target for everything that decodes a frame from the network: the header, the readings,
// history and config payloads, and MsgReader::skip. Whatever the bytes: no crash, no read outside
// the frame, and whatever a decoder accepts is valid and survives a re-encode unchanged.
#include "core/codec.hpp"
#include "core/msgpack_reader.hpp"
#include "core/protocol.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace sluice::core;

constexpr std::size_t k_max_history = 49;

void require(bool ok) {
    if (!ok) std::abort();
}

bool same_bits(double a, double b) {
    return std::memcmp(&a, &b, sizeof a) == 0;
}

bool inside(std::string_view part, std::string_view whole) {
    return part.empty() || (part.data() >= whole.data() &&
                            part.data() + part.size() <= whole.data() + whole.size());
}

void check_header(std::string_view frame) {
    std::string error;
    const auto h = decode_header(frame, error);
    if (!h) {
        require(!error.empty());
        return;
    }
    require(msg_type_name(h->type) != "unknown");
    require(inside(h->name, frame));
    const std::string again = encode_header(*h);
    std::string error2;
    const auto h2 = decode_header(again, error2);
    require(h2.has_value());
    require(h2->type == h->type && h2->id == h->id && h2->seq == h->seq && h2->count == h->count &&
            h2->extra == h->extra && h2->name == h->name);
}

void check_readings(std::string_view payload) {
    std::vector<ReadingView> views;
    DecodeError error;
    if (!decode_readings(payload, views, error)) {
        require(!error.what.empty());
        return;
    }
    std::vector<Reading> owned;
    owned.reserve(views.size());
    for (const auto& v : views) {
        require(validate(v.sensor_id, v.timestamp, v.value, v.unit) == Invalid::none);
        require(inside(v.sensor_id, payload) && inside(v.unit, payload));
        owned.push_back(
            Reading{std::string(v.sensor_id), v.timestamp, v.value, std::string(v.unit)});
    }
    std::string again;
    encode_readings(again, owned);
    std::vector<ReadingView> views2;
    require(decode_readings(again, views2, error));
    require(views2.size() == views.size());
    for (std::size_t i = 0; i < views.size(); ++i) {
        require(views2[i].sensor_id == views[i].sensor_id && views2[i].unit == views[i].unit);
        require(same_bits(views2[i].timestamp, views[i].timestamp));
        require(same_bits(views2[i].value, views[i].value));
    }
}

void check_history(std::string_view payload) {
    History history;
    DecodeError error;
    if (!decode_history(payload, k_max_history, history, error)) {
        require(!error.what.empty());
        return;
    }
    for (const auto& e : history.entries) {
        require(e.count <= k_max_history);
        require(e.count <= e.end);
        require(e.first + e.count <= history.values.size());
        require(inside(e.sensor_id, payload));
    }
    for (const double v : history.values) require(std::isfinite(v));
    std::string again;
    encode_history(again, history);
    History history2;
    require(decode_history(again, k_max_history, history2, error));
    require(history2.entries.size() == history.entries.size());
    require(history2.values.size() == history.values.size());
    for (std::size_t i = 0; i < history.entries.size(); ++i) {
        require(history2.entries[i].sensor_id == history.entries[i].sensor_id);
        require(history2.entries[i].end == history.entries[i].end);
        require(history2.entries[i].count == history.entries[i].count);
    }
    for (std::size_t i = 0; i < history.values.size(); ++i)
        require(same_bits(history2.values[i], history.values[i]));
}

void check_config(std::string_view payload) {
    JobConfig config;
    DecodeError error;
    if (!decode_config(payload, config, error)) {
        require(!error.what.empty());
        return;
    }
    require(config.window >= 1 && config.window <= k_max_window);
    require(static_cast<int>(config.format) <= static_cast<int>(OutputFormat::msgpack));
    for (const auto& [id, cal] : config.calibration) {
        require(std::isfinite(cal.offset) && std::isfinite(cal.scale) && cal.scale != 0.0);
    }
    std::string again;
    encode_config(again, config);
    JobConfig config2;
    require(decode_config(again, config2, error));
    require(config2.window == config.window && config2.heavy == config.heavy &&
            config2.format == config.format && config2.kept_windows == config.kept_windows);
    require(config2.calibration.size() == config.calibration.size());
    for (const auto& [id, cal] : config.calibration) {
        const auto it = config2.calibration.find(id);
        require(it != config2.calibration.end());
        require(same_bits(it->second.offset, cal.offset) && same_bits(it->second.scale, cal.scale));
    }
}

void check_skip(std::string_view bytes) {
    // Skip values one after another until the end or the first refusal; each skip makes progress.
    MsgReader r(bytes);
    while (!r.at_end()) {
        const std::size_t before = r.remaining();
        if (!r.skip()) break;
        require(r.remaining() < before);
    }
    // A small depth limit never accepts more than the default does.
    MsgReader shallow(bytes);
    MsgReader deep(bytes);
    const bool shallow_ok = shallow.skip(2);
    const bool deep_ok = deep.skip();
    if (shallow_ok) require(deep_ok && shallow.remaining() == deep.remaining());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // libFuzzer hands over a heap block of exactly `size` bytes: ASan catches any read past it.
    const std::string_view bytes(reinterpret_cast<const char*>(data), size);
    check_header(bytes);
    check_readings(bytes);
    check_history(bytes);
    check_config(bytes);
    check_skip(bytes);
    return 0;
}
