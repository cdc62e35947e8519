#include "sink/file_sync.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

using sluice::sink::BackgroundSync;

namespace {

// A temporary regular file, removed at the end.
struct TempFile {
    std::string path;
    int fd = -1;
    TempFile() {
        path = (std::filesystem::temp_directory_path() / "sluice-sync-XXXXXX").string();
        fd = mkstemp(path.data());
        REQUIRE(fd >= 0);
    }
    ~TempFile() {
        ::close(fd);
        std::filesystem::remove(path);
    }
    void write_bytes(std::size_t n) const {
        const std::string bytes(n, 'x');
        REQUIRE(::write(fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(n));
    }
};

} // namespace

TEST_CASE("BackgroundSync syncs once a step of bytes is written", "[sink][threads]") {
    const TempFile file;
    BackgroundSync sync(file.fd, 4096);
    std::uint64_t total = 0;
    for (int i = 0; i < 3; ++i) {
        file.write_bytes(4096);
        total += 4096;
        sync.written(total);
    }
    CHECK(sync.stop() == 0);
    // Requests made while a sync runs are merged into the next one, so 1 to 3 syncs.
    CHECK(sync.syncs() >= 1);
    CHECK(sync.syncs() <= 3);
    CHECK(std::filesystem::file_size(file.path) == total);
}

TEST_CASE("BackgroundSync does nothing below its step", "[sink][threads]") {
    const TempFile file;
    BackgroundSync sync(file.fd, 4096);
    file.write_bytes(4095);
    sync.written(4095);
    CHECK(sync.stop() == 0);
    CHECK(sync.syncs() == 0);
}

TEST_CASE("BackgroundSync keeps the error of a failed fdatasync for stop()", "[sink][threads]") {
    // fdatasync on a pipe fails with EINVAL: a stand-in for a disk's EIO, which Linux reports to
    // one caller only, so the helper thread must hand it on.
    std::array<int, 2> pipe_fds{};
    REQUIRE(::pipe(pipe_fds.data()) == 0);
    BackgroundSync sync(pipe_fds[1], 1);
    sync.written(1);
    CHECK(sync.stop() == EINVAL);
    CHECK(sync.syncs() == 1);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
}
