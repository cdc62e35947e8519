// A process id read once, not once per call.
//
// libzmq checks on every signal between its threads that it has not been forked
// (signaler.cpp: `if (unlikely (pid != getpid ()))`), and glibc has not cached the pid since 2.25,
// so each check is a system call: a quarter of all the system calls of a 2 M-reading job (56,000
// of 213,000), ~1 µs each on a VM (docs/BENCHMARKS.md, "The pid of libzmq's fork check"). This
// file defines getpid() for the executable, which the dynamic linker then binds for libzmq too;
// it asks the kernel once and again only in the child of a fork().
#pragma once

namespace sluice::core {

// Arms the cache's reset for the child of fork(). run_node calls it, which is also what links the
// getpid() definition into every executable (a static library's member is linked only when
// something names it).
void cache_process_id() noexcept;

} // namespace sluice::core
