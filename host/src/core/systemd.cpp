#include "core/systemd.hpp"

#include <systemd/sd-daemon.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

namespace tickerd::systemd {

namespace {

void notify(const std::string& state) {
    // 0 (not under systemd) and errors alike: nothing to do, the daemon carries on.
    ::sd_notify(0, state.c_str());
}

}  // namespace

void notify_ready(std::string_view status) {
    notify("READY=1\nSTATUS=" + std::string(status));
}

void notify_reloading() {
    notify("RELOADING=1");
}

void notify_stopping() {
    notify("STOPPING=1");
}

void notify_watchdog() {
    notify("WATCHDOG=1");
}

std::optional<std::chrono::microseconds> watchdog_interval() {
    uint64_t usec = 0;
    if (::sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
    return std::chrono::microseconds(usec / 2);
}

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat info {};
    if (!stream || ::fstat(STDERR_FILENO, &info) != 0) return false;
    std::string expected =
        std::to_string(info.st_dev) + ":" + std::to_string(static_cast<unsigned long>(info.st_ino));
    return expected == stream;
}

}  // namespace tickerd::systemd
