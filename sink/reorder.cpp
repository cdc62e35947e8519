#include "sink/reorder.hpp"

namespace sluice::sink {

ReorderBuffer::Offer ReorderBuffer::offer(Result result) {
    if (result.seq < m_next || m_held.contains(result.seq)) return Offer::duplicate;
    if (result.seq - m_next >= m_capacity) return Offer::too_far_ahead;
    const std::uint64_t seq = result.seq;
    m_held.emplace(seq, std::move(result));
    return Offer::accepted;
}

std::optional<Result> ReorderBuffer::pop() {
    const auto it = m_held.find(m_next);
    if (it == m_held.end()) return std::nullopt;
    Result r = std::move(it->second);
    m_held.erase(it);
    ++m_next;
    return r;
}

} // namespace sluice::sink
