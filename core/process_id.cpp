#include "core/process_id.hpp"

#include <atomic>
#include <mutex>
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace {

// 0: not read yet (no process has pid 0). Relaxed is enough: every thread that reads it either
// sees 0 and asks the kernel, or sees the one value any thread of this process can store.
std::atomic<pid_t> g_pid{0};

void forget_pid() noexcept {
    g_pid.store(0, std::memory_order_relaxed);
}

} // namespace

// The child of fork() runs the atfork handler before any code of its own, so it never sees its
// parent's pid. posix_spawn (the launcher's way to start nodes) runs no handlers and shares the
// parent's memory until exec, but its child calls no getpid() before exec and so stores nothing.
extern "C" pid_t getpid(void) noexcept {
    pid_t pid = g_pid.load(std::memory_order_relaxed);
    if (pid == 0) {
        pid = static_cast<pid_t>(::syscall(SYS_getpid));
        g_pid.store(pid, std::memory_order_relaxed);
    }
    return pid;
}

namespace sluice::core {

void cache_process_id() noexcept {
    static std::once_flag once;
    std::call_once(once, [] { pthread_atfork(nullptr, nullptr, forget_pid); });
}

} // namespace sluice::core
