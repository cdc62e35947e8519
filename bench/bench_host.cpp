// What the host charges for the kernel's part of moving a batch: a system call, and a wake-up of
// another thread. On a VM these differ by an order of magnitude from bare metal, and libzmq makes
// dozens of each per batch (docs/BENCHMARKS.md, "System calls of waiting"), so they are measured
// here next to the per-record kernels, on the same machine, to put the end-to-end figures in scale.
#include <benchmark/benchmark.h>
#include <poll.h>
#include <sys/syscall.h>
#include <thread>
#include <unistd.h>

namespace {

// The cheapest system call there is: what libzmq pays for its fork check before every wait.
void BM_syscall_getpid(benchmark::State& state) {
    for (auto _ : state) benchmark::DoNotOptimize(::syscall(SYS_getpid));
}
BENCHMARK(BM_syscall_getpid);

// poll() of one descriptor with nothing to read, timeout 0: how libzmq looks at a socket's mailbox.
void BM_poll_nothing(benchmark::State& state) {
    int fds[2];
    if (::pipe(fds) != 0) {
        state.SkipWithError("pipe failed");
        return;
    }
    pollfd p{fds[0], POLLIN, 0};
    for (auto _ : state) benchmark::DoNotOptimize(::poll(&p, 1, 0));
    ::close(fds[0]);
    ::close(fds[1]);
}
BENCHMARK(BM_poll_nothing);

// A byte to another thread and back through two pipes: two wake-ups of a sleeping thread, two
// context switches or cross-CPU wake-ups, four system calls. A message between ZeroMQ's threads
// costs at least one such wake-up at each end.
void BM_thread_round_trip(benchmark::State& state) {
    int there[2];
    int back[2];
    if (::pipe(there) != 0 || ::pipe(back) != 0) {
        state.SkipWithError("pipe failed");
        return;
    }
    std::thread echo([&] {
        char c = 0;
        while (::read(there[0], &c, 1) == 1 && c != 'q') {
            if (::write(back[1], &c, 1) != 1) break;
        }
    });
    char c = 'x';
    for (auto _ : state) {
        if (::write(there[1], &c, 1) != 1 || ::read(back[0], &c, 1) != 1) {
            state.SkipWithError("pipe I/O failed");
            break;
        }
    }
    c = 'q';
    (void)!::write(there[1], &c, 1);
    echo.join();
    for (const int fd : {there[0], there[1], back[0], back[1]}) ::close(fd);
}
BENCHMARK(BM_thread_round_trip)->UseRealTime();

} // namespace
