// An index from sensor ids to positions in the caller's storage, for the per-reading lookups of
// the ventilator's history store and the worker's windows. Open addressing with linear probing,
// at most half full; each 8-byte slot keeps the low 32 bits of its id's hash (which hold every
// bit the probe's start uses), so a probe reads no id but the one it finds, and growing needs no
// id at all. With 10,000 sensors a node-based std::unordered_map cost three cache misses per
// lookup (a bucket, a node, the key): 8 % of the ventilator's job (docs/BENCHMARKS.md, "Many
// sensors").
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

namespace sluice::core {

class IdIndex {
public:
    static constexpr std::uint32_t npos = 0xFFFFFFFFu;

    [[nodiscard]] static std::size_t hash(std::string_view id) noexcept {
        return std::hash<std::string_view>{}(id);
    }

    // The position stored for `id` (whose hash is `h`), or npos; `id_at(position)` gives the id
    // the caller keeps at a position.
    template <class IdAt>
    [[nodiscard]] std::uint32_t find(std::string_view id, std::size_t h, IdAt&& id_at) const {
        if (m_slots.empty()) return npos;
        const std::size_t mask = m_slots.size() - 1;
        for (std::size_t i = h & mask; m_slots[i].position != 0; i = (i + 1) & mask) {
            if (m_slots[i].hash == static_cast<std::uint32_t>(h) &&
                id_at(m_slots[i].position - 1) == id) {
                return m_slots[i].position - 1;
            }
        }
        return npos;
    }

    // Adds a position for an id of hash `h` that find() did not find.
    void insert(std::size_t h, std::uint32_t position) {
        if (2 * (m_used + 1) > m_slots.size()) grow();
        place(m_slots, h, position);
        ++m_used;
    }

    // Forgets every id; memory is kept.
    void clear() noexcept {
        for (Slot& s : m_slots) s = Slot{};
        m_used = 0;
    }

    [[nodiscard]] std::size_t size() const noexcept { return m_used; }

private:
    struct Slot {
        std::uint32_t hash = 0;     // the low 32 bits of the id's hash
        std::uint32_t position = 0; // the caller's position + 1; 0 = free
    };

    static void place(std::vector<Slot>& slots, std::size_t h, std::uint32_t position) noexcept {
        const std::size_t mask = slots.size() - 1;
        std::size_t i = h & mask;
        while (slots[i].position != 0) i = (i + 1) & mask;
        slots[i] = Slot{static_cast<std::uint32_t>(h), position + 1};
    }

    void grow() {
        std::vector<Slot> slots(m_slots.empty() ? 64 : 2 * m_slots.size());
        for (const Slot& s : m_slots) {
            if (s.position != 0) place(slots, s.hash, s.position - 1);
        }
        m_slots = std::move(slots);
    }

    std::vector<Slot> m_slots; // a power of two
    std::size_t m_used = 0;
};

} // namespace sluice::core
