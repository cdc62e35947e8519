#include "ventilator/history_store.hpp"

#include <algorithm>
#include <cassert>

namespace sluice::ventilator {

void HistoryStore::accept(std::span<const core::ReadingView> readings, std::vector<Entry>& out) {
    const std::uint64_t stamp = ++m_accepted;
    if (m_keep == 0) return; // a window of one value needs no history
    Sensor* last = nullptr;
    for (const auto& r : readings) {
        // Consecutive readings often share a sensor; skip the lookup then.
        if (last == nullptr || last->id() != r.sensor_id) last = &find_or_add(r.sensor_id);
        Sensor& s = *last;
        if (s.m_stamp != stamp) {
            s.m_stamp = stamp;
            s.m_entry = out.size();
            out.push_back(Entry{&s, s.m_end, 0});
            s.m_pins.push_back(s.m_end);
        }
        ++out[s.m_entry].readings;
        // Dropping the dead front only once it is at least half the buffer keeps each value's
        // share of the moves constant.
        if (s.m_begin > 0 && s.m_begin >= s.m_values.size() / 2) {
            s.m_values.erase(s.m_values.begin(),
                             s.m_values.begin() + static_cast<std::ptrdiff_t>(s.m_begin));
            s.m_begin = 0;
        }
        s.m_values.push_back(r.value);
        ++s.m_end;
        ++m_values_held;
    }
}

HistoryStore::Sensor& HistoryStore::find_or_add(std::string_view id) {
    const std::size_t hash = core::IdIndex::hash(id);
    const std::uint32_t at =
        m_index.find(id, hash, [this](std::uint32_t k) { return m_sensors[k]->id(); });
    if (at != core::IdIndex::npos) return *m_sensors[at];
    Sensor& s = *m_sensors.emplace_back(std::make_unique<Sensor>(id));
    m_index.insert(hash, static_cast<std::uint32_t>(m_sensors.size() - 1));
    return s;
}

void HistoryStore::encode(std::span<const Entry> entries, core::HistoryEncoder& encoder,
                          Peer* peer) const {
    if (peer != nullptr && m_kept_windows != 0 &&
        peer->m_at.size() + entries.size() > m_kept_windows) {
        std::size_t added = 0;
        for (const Entry& e : entries) added += !peer->m_at.contains(e.sensor);
        if (peer->m_at.size() + added > m_kept_windows) {
            peer->forget();
            ++peer->m_drops;
        }
    }
    for (const Entry& e : entries) {
        const Sensor& s = *e.sensor;
        std::uint64_t first = e.end - std::min<std::uint64_t>(e.end, m_keep);
        if (peer != nullptr) {
            auto [it, added] = peer->m_at.try_emplace(&s, 0);
            // Only what the worker has not seen, when it saw some of the whole history and no
            // reading at or after the batch's start (a batch sent again can be older than the
            // worker's windows: it then gets the whole history, which replaces them).
            if (!added && it->second > first && it->second <= e.end) first = it->second;
            it->second = e.end + e.readings;
        }
        // release() keeps every value a held batch's history needs: [first, end) is held.
        assert(first >= s.m_end - s.held() && e.end <= s.m_end);
        const std::size_t offset =
            s.m_begin + static_cast<std::size_t>(first - (s.m_end - s.held()));
        encoder.add(s.id(), e.end, std::span(s.m_values).subspan(offset, e.end - first));
    }
}

void HistoryStore::release(std::span<const Entry> entries) noexcept {
    for (const Entry& e : entries) {
        Sensor& s = *e.sensor;
        assert(s.m_pin_begin < s.m_pins.size() && s.m_pins[s.m_pin_begin] == e.end);
        if (++s.m_pin_begin == s.m_pins.size()) {
            s.m_pins.clear();
            s.m_pin_begin = 0;
        } else if (s.m_pin_begin >= s.m_pins.size() / 2) {
            s.m_pins.erase(s.m_pins.begin(),
                           s.m_pins.begin() + static_cast<std::ptrdiff_t>(s.m_pin_begin));
            s.m_pin_begin = 0;
        }
        trim(s);
    }
}

// Drops the values no held batch's history and no later batch's can need: everything before the
// last `keep` values preceding the oldest held batch that names the sensor (or, with none, the
// last `keep` values).
void HistoryStore::trim(Sensor& s) noexcept {
    const std::uint64_t needed_from_end =
        s.m_pin_begin < s.m_pins.size() ? s.m_pins[s.m_pin_begin] : s.m_end;
    const std::uint64_t first_needed =
        needed_from_end - std::min<std::uint64_t>(needed_from_end, m_keep);
    const std::uint64_t first_held = s.m_end - s.held();
    if (first_needed <= first_held) return;
    const auto drop = static_cast<std::size_t>(first_needed - first_held);
    s.m_begin += drop;
    m_values_held -= drop;
}

} // namespace sluice::ventilator
