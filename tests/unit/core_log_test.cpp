// Log lines on the journal: when stderr is the stream JOURNAL_STREAM names, each line starts
// with its syslog priority ("<4>" for a warning) and carries no timestamp of its own.
#define BOOST_TEST_MODULE core_log
#include <boost/test/unit_test.hpp>

#include "core/log.hpp"
#include "support/temp_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <iostream>

using namespace tickerd::testing;

BOOST_AUTO_TEST_CASE(lines_to_the_journal_carry_their_priority) {
    TempDir dir("tickerd-log");
    auto file = dir.path() / "stderr";
    int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    BOOST_TEST_REQUIRE(fd >= 0);
    int saved = ::dup(STDERR_FILENO);
    ::dup2(fd, STDERR_FILENO);
    struct stat info {};
    ::fstat(STDERR_FILENO, &info);
    auto stream = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
    ::setenv("JOURNAL_STREAM", stream.c_str(), 1);

    tickerd::log::init(tickerd::log::Level::debug);
    BOOST_LOG_TRIVIAL(warning) << "disk nearly full";
    BOOST_LOG_TRIVIAL(error) << "vendor failed";
    BOOST_LOG_TRIVIAL(debug) << "poll";
    std::clog.flush();

    ::dup2(saved, STDERR_FILENO);
    ::close(saved);
    ::close(fd);
    BOOST_TEST(read_file(file) == "<4>disk nearly full\n<3>vendor failed\n<7>poll\n");
}
