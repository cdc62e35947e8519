// The sink's reorder buffer: results arrive in any order and any number of times; they leave in
// the order of their sequence numbers, each exactly once.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <zmq.hpp>

namespace sluice::sink {

struct Result {
    std::uint64_t seq = 0;
    std::uint64_t records = 0;
    std::uint64_t origin_us = 0; // wall-clock µs when the ingest opened the batch, 0 = unknown
    zmq::message_t payload;
};

class ReorderBuffer {
public:
    // `capacity`: the most batches held ahead of the next one to write; the ventilator's in-flight
    // bound keeps honest traffic below it.
    explicit ReorderBuffer(std::size_t capacity) : m_capacity(capacity) {}

    enum class Offer { accepted, duplicate, too_far_ahead };

    // Takes a result unless it was written already, is held already, or lies beyond the capacity.
    [[nodiscard]] Offer offer(Result result);

    // The next result in order, if it has arrived.
    [[nodiscard]] std::optional<Result> pop();

    [[nodiscard]] std::uint64_t next() const noexcept { return m_next; }
    [[nodiscard]] std::size_t held() const noexcept { return m_held.size(); }

private:
    std::size_t m_capacity;
    std::uint64_t m_next = 0;
    std::map<std::uint64_t, Result> m_held;
};

} // namespace sluice::sink
