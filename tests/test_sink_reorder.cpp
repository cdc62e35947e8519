#include "sink/reorder.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <vector>

using sluice::sink::ReorderBuffer;
using sluice::sink::Result;
using Offer = ReorderBuffer::Offer;

namespace {

std::string payload_for(std::uint64_t seq) {
    return "batch " + std::to_string(seq);
}

Result make_result(std::uint64_t seq, std::uint64_t records, const std::string& payload) {
    Result r;
    r.seq = seq;
    r.records = records;
    r.payload = zmq::message_t(payload.data(), payload.size());
    return r;
}

Result result(std::uint64_t seq) {
    return make_result(seq, seq * 10, payload_for(seq));
}

std::string text(const zmq::message_t& m) {
    return std::string(static_cast<const char*>(m.data()), m.size());
}

// Pops everything ready and returns the sequence numbers, checking each payload.
std::vector<std::uint64_t> drain(ReorderBuffer& buffer) {
    std::vector<std::uint64_t> seqs;
    while (auto r = buffer.pop()) {
        CHECK(text(r->payload) == payload_for(r->seq));
        CHECK(r->records == r->seq * 10);
        seqs.push_back(r->seq);
    }
    return seqs;
}

} // namespace

TEST_CASE("results offered in order leave in order", "[reorder]") {
    ReorderBuffer buffer(4);
    CHECK(buffer.next() == 0);
    CHECK_FALSE(buffer.pop().has_value());
    for (std::uint64_t seq = 0; seq < 10; ++seq) {
        CHECK(buffer.offer(result(seq)) == Offer::accepted);
        CHECK(buffer.held() == 1);
        const auto r = buffer.pop();
        REQUIRE(r.has_value());
        CHECK(r->seq == seq);
        CHECK(text(r->payload) == payload_for(seq));
        CHECK(buffer.next() == seq + 1);
        CHECK(buffer.held() == 0);
        CHECK_FALSE(buffer.pop().has_value());
    }
}

TEST_CASE("results offered out of order are held until the gap fills", "[reorder]") {
    ReorderBuffer buffer(8);
    CHECK(buffer.offer(result(2)) == Offer::accepted);
    CHECK(buffer.offer(result(1)) == Offer::accepted);
    CHECK(buffer.offer(result(4)) == Offer::accepted);
    CHECK(buffer.held() == 3);
    CHECK_FALSE(buffer.pop().has_value());
    CHECK(buffer.next() == 0);
    CHECK(buffer.offer(result(0)) == Offer::accepted);
    CHECK(drain(buffer) == std::vector<std::uint64_t>{0, 1, 2});
    CHECK(buffer.next() == 3);
    CHECK(buffer.held() == 1);
    CHECK(buffer.offer(result(3)) == Offer::accepted);
    CHECK(drain(buffer) == std::vector<std::uint64_t>{3, 4});
    CHECK(buffer.next() == 5);
    CHECK(buffer.held() == 0);
}

TEST_CASE("a result already written is a duplicate", "[reorder]") {
    ReorderBuffer buffer(4);
    REQUIRE(buffer.offer(result(0)) == Offer::accepted);
    REQUIRE(buffer.offer(result(1)) == Offer::accepted);
    REQUIRE(drain(buffer).size() == 2);
    CHECK(buffer.offer(result(0)) == Offer::duplicate);
    CHECK(buffer.offer(result(1)) == Offer::duplicate);
    CHECK(buffer.held() == 0);
    CHECK(buffer.next() == 2);
    CHECK_FALSE(buffer.pop().has_value());
}

TEST_CASE("a result already held is a duplicate and the first copy is kept", "[reorder]") {
    ReorderBuffer buffer(4);
    REQUIRE(buffer.offer(result(2)) == Offer::accepted);
    const std::string other = "a different payload";
    CHECK(buffer.offer(make_result(2, 99, other)) == Offer::duplicate);
    CHECK(buffer.held() == 1);
    // The next one held is a duplicate too, before it is popped.
    REQUIRE(buffer.offer(result(0)) == Offer::accepted);
    CHECK(buffer.offer(result(0)) == Offer::duplicate);
    CHECK(buffer.held() == 2);
    CHECK(buffer.offer(result(1)) == Offer::accepted);
    CHECK(drain(buffer) == std::vector<std::uint64_t>{0, 1, 2}); // drain checks payload 2
}

TEST_CASE("results at capacity or beyond the next one are too far ahead", "[reorder]") {
    ReorderBuffer buffer(4);
    CHECK(buffer.offer(result(3)) == Offer::accepted); // next + capacity - 1
    CHECK(buffer.offer(result(4)) == Offer::too_far_ahead);
    CHECK(buffer.offer(result(1000000)) == Offer::too_far_ahead);
    CHECK(buffer.held() == 1);
    REQUIRE(buffer.offer(result(0)) == Offer::accepted);
    REQUIRE(buffer.pop().has_value());
    CHECK(buffer.next() == 1);
    CHECK(buffer.offer(result(4)) == Offer::accepted); // the window moved by one
    CHECK(buffer.offer(result(5)) == Offer::too_far_ahead);
    CHECK(buffer.offer(result(0xffffffffffffffffu)) == Offer::too_far_ahead);
}

TEST_CASE("with capacity 1 only the next result is accepted", "[reorder]") {
    ReorderBuffer buffer(1);
    CHECK(buffer.offer(result(1)) == Offer::too_far_ahead);
    CHECK(buffer.offer(result(0)) == Offer::accepted);
    CHECK(buffer.offer(result(1)) == Offer::too_far_ahead);
    CHECK(buffer.offer(result(0)) == Offer::duplicate);
    REQUIRE(buffer.pop().has_value());
    CHECK(buffer.offer(result(1)) == Offer::accepted);
    CHECK(drain(buffer) == std::vector<std::uint64_t>{1});
}

TEST_CASE("a permutation with duplicates yields each seq exactly once, in order", "[reorder]") {
    std::mt19937_64 rng(1234);
    struct Run {
        std::uint64_t n;      // sequence numbers 0..n-1
        std::size_t capacity; // of the buffer
    };
    // Smaller streams for small buffers: most offers are then refused and resent.
    for (const Run run : {Run{5000, 5000}, Run{800, 64}, Run{300, 5}, Run{100, 1}}) {
        const std::uint64_t n = run.n;
        const std::size_t capacity = run.capacity;
        INFO("n " << n << " capacity " << capacity);
        // Every seq once, plus a third of them again, shuffled.
        std::deque<std::uint64_t> pending;
        for (std::uint64_t s = 0; s < n; ++s) pending.push_back(s);
        for (std::uint64_t s = 0; s < n; s += 3) pending.push_back(s);
        std::shuffle(pending.begin(), pending.end(), rng);

        ReorderBuffer buffer(capacity);
        std::vector<std::uint64_t> written;
        std::size_t duplicates = 0;
        std::size_t refused = 0;
        while (!pending.empty()) {
            const std::uint64_t seq = pending.front();
            pending.pop_front();
            switch (buffer.offer(result(seq))) {
            case Offer::accepted:
                break;
            case Offer::duplicate:
                ++duplicates;
                break;
            case Offer::too_far_ahead:
                // A sender resends later; put it back at a random place.
                ++refused;
                REQUIRE(seq >= buffer.next() + capacity);
                pending.insert(pending.begin() +
                                   static_cast<std::ptrdiff_t>(rng() % (pending.size() + 1)),
                               seq);
                break;
            }
            REQUIRE(buffer.held() <= capacity);
            for (const auto s : drain(buffer)) written.push_back(s);
        }
        REQUIRE(written.size() == n);
        for (std::uint64_t s = 0; s < n; ++s) REQUIRE(written[s] == s);
        CHECK(buffer.held() == 0);
        CHECK(buffer.next() == n);
        CHECK(duplicates == (n + 2) / 3);
        if (capacity == n) CHECK(refused == 0);
    }
}
