// Talking to systemd when it runs us (Type=notify): readiness, reloads, stopping and the
// watchdog, through libsystemd's sd_notify. Outside systemd (no NOTIFY_SOCKET) every call
// does nothing, so the daemon behaves the same from a shell.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace tickerd::systemd {

void notify_ready(std::string_view status);  // READY=1 and a STATUS= line for systemctl
void notify_reloading();                     // RELOADING=1 (READY=1 follows when done)
void notify_stopping();                      // STOPPING=1
void notify_watchdog();                      // WATCHDOG=1
// How often to send WATCHDOG=1 (half of WatchdogSec=), or nothing when it is off.
std::optional<std::chrono::microseconds> watchdog_interval();
// True when stderr is connected to the journal (JOURNAL_STREAM names it): log lines then
// carry "<N>" syslog priority prefixes and no timestamp of their own.
bool stderr_is_journal();

}  // namespace tickerd::systemd
