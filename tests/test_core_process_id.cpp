#include "core/process_id.hpp"

#include <catch2/catch.hpp>
#include <dlfcn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

pid_t kernel_pid() {
    return static_cast<pid_t>(::syscall(SYS_getpid));
}

} // namespace

TEST_CASE("getpid() answers the kernel's pid, asked or cached") {
    sluice::core::cache_process_id();
    CHECK(getpid() == kernel_pid());
    CHECK(getpid() == kernel_pid());
}

TEST_CASE("Shared libraries calling getpid() reach the cache, not glibc's system call") {
    // libzmq finds getpid through the global scope, where the executable comes first: only if the
    // executable exports its definition do libzmq's fork checks stop costing a system call.
    sluice::core::cache_process_id();
    CHECK(::dlsym(RTLD_DEFAULT, "getpid") == reinterpret_cast<void*>(&getpid));
}

TEST_CASE("The child of fork() sees its own pid, not its parent's cached one") {
    sluice::core::cache_process_id();
    const pid_t parent = getpid(); // cached now
    const pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        // Only async-signal-safe calls here: the status says what the child saw.
        const pid_t seen = getpid();
        ::_exit(seen == kernel_pid() && seen != parent ? 0 : 1);
    }
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(getpid() == parent);
}
