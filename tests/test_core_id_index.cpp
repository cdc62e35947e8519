#include "core/id_index.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

using sluice::core::IdIndex;

TEST_CASE("id index: every id inserted is found at its position, others are not, through growth",
          "[id_index]") {
    IdIndex index;
    std::vector<std::string> ids; // position -> id, as a caller keeps them
    const auto id_at = [&](std::uint32_t k) { return std::string_view(ids[k]); };
    std::mt19937_64 rng(7);
    std::map<std::string, std::uint32_t> expected;
    for (int i = 0; i < 5000; ++i) {
        std::string id = "sensor-" + std::to_string(rng() % 20000);
        const std::size_t h = IdIndex::hash(id);
        const std::uint32_t at = index.find(id, h, id_at);
        const auto it = expected.find(id);
        if (it == expected.end()) {
            REQUIRE(at == IdIndex::npos);
            index.insert(h, static_cast<std::uint32_t>(ids.size()));
            expected.emplace(id, static_cast<std::uint32_t>(ids.size()));
            ids.push_back(id);
        } else {
            REQUIRE(at == it->second);
        }
    }
    CHECK(index.size() == expected.size());
    for (const auto& [id, position] : expected) {
        CHECK(index.find(id, IdIndex::hash(id), id_at) == position);
    }
    CHECK(index.find("absent", IdIndex::hash("absent"), id_at) == IdIndex::npos);
    CHECK(index.find("", IdIndex::hash(""), id_at) == IdIndex::npos);

    index.clear();
    CHECK(index.size() == 0);
    for (const auto& [id, position] : expected) {
        CHECK(index.find(id, IdIndex::hash(id), id_at) == IdIndex::npos);
    }
}

TEST_CASE("id index: ids of the same hash are told apart by the id itself", "[id_index]") {
    IdIndex index;
    const std::vector<std::string> ids = {"a", "b", "c", "d", "e"};
    const auto id_at = [&](std::uint32_t k) { return std::string_view(ids[k]); };
    // Every id under one hash: a worst case of collisions, the probe must compare ids.
    for (std::uint32_t k = 0; k < ids.size(); ++k) {
        CHECK(index.find(ids[k], 42, id_at) == IdIndex::npos);
        index.insert(42, k);
    }
    for (std::uint32_t k = 0; k < ids.size(); ++k) CHECK(index.find(ids[k], 42, id_at) == k);
    CHECK(index.find("f", 42, id_at) == IdIndex::npos);
    // Under another hash nothing is found, even an id that is kept.
    CHECK(index.find("a", 43, id_at) == IdIndex::npos);
}
