// Starting runner processes. Internal to the isolation part.
#pragma once

#include "core/result.hpp"

#include <sys/types.h>

#include <string>
#include <vector>

namespace tickerd::isolation::detail {

struct Spawned {
    pid_t pid = -1;
    int pidfd = -1;   // signals go through it: never to a recycled pid
    int socket = -1;  // the daemon's end of the socketpair
};

// Starts `argv[0]` with the other end of a new socketpair as its fd 3, `plugin_fd` as its
// fd 4, stdout sent to the daemon's stderr (a plugin printing there cannot disturb the
// protocol) and stdin from /dev/null; no other descriptor is inherited. Runs on one thread
// that lives as long as the daemon, since PR_SET_PDEATHSIG (which the runner sets) fires
// when the thread that started it ends, not the process.
Result<Spawned> spawn(const std::vector<std::string>& argv, int plugin_fd);

// SIGKILL through the pidfd (glibc 2.36 declares its wrappers without C linkage, so the
// system calls are made directly).
void kill_process(int pidfd);

}  // namespace tickerd::isolation::detail
