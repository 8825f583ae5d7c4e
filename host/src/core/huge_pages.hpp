// The heap in transparent huge pages. A delivery to an idle connection touches a dozen
// structures that have left the cache and the TLB in the seconds since its last message; in a
// virtual machine each TLB miss is a two-level page walk, and with the heap in 2 MB pages most
// of those misses go (README, "Huge pages for the heap"). glibc reads its malloc tunables once,
// as a process starts, so tickerd asks for them by executing itself again, once, with them in
// GLIBC_TUNABLES: glibc.malloc.hugetlb=1 madvises the heap for huge pages, and
// glibc.malloc.arena_max=1 keeps every thread's allocations in that heap (the arenas glibc
// makes for other threads are not madvised).
#pragma once

#include <boost/log/trivial.hpp>

#include <string>

namespace tickerd::huge_pages {

inline constexpr const char* kTunables = "glibc.malloc.hugetlb=1:glibc.malloc.arena_max=1";

// What start-up found, for one log line once logging is up.
struct Outcome {
    boost::log::trivial::severity_level level;
    std::string line;
};

// Executes the running program's file again (same pid, same arguments) with kTunables added to
// GLIBC_TUNABLES, unless they are in place already, the kernel has transparent huge pages off,
// or the caller's own GLIBC_TUNABLES names glibc.malloc.hugetlb (theirs is kept). Returns only
// when it did not execute; call it before any thread starts or file opens.
Outcome reexec_with_huge_pages(char** argv);

}  // namespace tickerd::huge_pages
