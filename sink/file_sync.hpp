// Moves an output file's data to the disk while the job writes it, so that the fsync that ends
// the job has only the tail left to do.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace sluice::sink {

// A helper thread calls fdatasync(2) on the file each time the writer reports another
// `every_bytes` written. On a virtual disk, persisting data costs time in proportion to it (here
// ~0.45 s for the 623 MB of a 2 M-reading job, with both CPUs idle, in one fsync at the end);
// done in steps while the job runs, the disk works alongside the CPUs (docs/BENCHMARKS.md,
// "Writing to a file"). The writer never waits for it: write(2) and fdatasync(2) on one file
// from two threads are safe, and the data of a record is durable only once the final fsync
// returns, as before. The helper shares nothing else with the sink's loop.
//
// Linux reports a writeback error to one fsync/fdatasync only; one seen here is kept and returned
// by stop(), so that the job cannot end as if its output were safe.
class BackgroundSync {
public:
    BackgroundSync(int fd, std::uint64_t every_bytes);
    ~BackgroundSync(); // stop() if not done
    BackgroundSync(const BackgroundSync&) = delete;
    BackgroundSync& operator=(const BackgroundSync&) = delete;

    // The file now holds `total` bytes written through this descriptor since it was opened.
    void written(std::uint64_t total);

    // Carries out the sync requested last (if not done yet), ends the thread, and returns the
    // errno of the first failed fdatasync (0: none failed).
    int stop();

    // fdatasync calls completed (for tests).
    [[nodiscard]] unsigned syncs() const;

private:
    void run();

    const int m_fd;
    const std::uint64_t m_every;
    std::uint64_t m_last_request = 0; // the writer's own; no lock
    mutable std::mutex m_mutex;
    std::condition_variable m_wake;
    std::uint64_t m_requested = 0; // bytes to make durable; guarded by m_mutex
    std::uint64_t m_synced = 0;    // bytes made durable; guarded
    unsigned m_syncs = 0;          // guarded
    int m_error = 0;               // guarded
    bool m_stopping = false;       // guarded
    std::thread m_thread;
};

} // namespace sluice::sink
