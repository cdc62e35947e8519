#include "sink/file_sync.hpp"

#include <cerrno>
#include <unistd.h>

namespace sluice::sink {

BackgroundSync::BackgroundSync(int fd, std::uint64_t every_bytes)
    : m_fd(fd), m_every(every_bytes), m_thread([this] { run(); }) {}

BackgroundSync::~BackgroundSync() {
    (void)stop();
}

void BackgroundSync::written(std::uint64_t total) {
    if (total - m_last_request < m_every) return;
    m_last_request = total;
    {
        const std::lock_guard lock(m_mutex);
        m_requested = total;
    }
    m_wake.notify_one();
}

int BackgroundSync::stop() {
    {
        const std::lock_guard lock(m_mutex);
        m_stopping = true;
    }
    m_wake.notify_one();
    if (m_thread.joinable()) m_thread.join();
    const std::lock_guard lock(m_mutex);
    return m_error;
}

unsigned BackgroundSync::syncs() const {
    const std::lock_guard lock(m_mutex);
    return m_syncs;
}

void BackgroundSync::run() {
    std::unique_lock lock(m_mutex);
    while (true) {
        m_wake.wait(lock, [this] { return m_stopping || m_requested > m_synced; });
        // A request made before stop() is still carried out: that data is then durable, and the
        // final fsync has less to do.
        if (m_requested <= m_synced) return;
        const std::uint64_t target = m_requested;
        lock.unlock();
        const int result = ::fdatasync(m_fd);
        const int error = result == 0 ? 0 : errno;
        lock.lock();
        m_synced = target;
        ++m_syncs;
        if (error != 0 && m_error == 0) m_error = error;
    }
}

} // namespace sluice::sink
