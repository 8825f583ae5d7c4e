// tickerctl: the command-line client for tickerd's HTTP API. Exit status: 0 ok, 1 the daemon
// answered with an error, 2 a usage error, 3 the daemon could not be reached.
#include "commands.hpp"

#include <iostream>

int main(int argc, char** argv) {
    using namespace tickerctl;
    std::span<const char* const> arguments(argv + 1, static_cast<std::size_t>(argc - 1));
    auto outcome = run_command(arguments, std::cout);
    std::cout.flush();
    if (outcome) return static_cast<int>(ExitCode::ok);
    const auto& failure = outcome.error();
    std::cerr << "tickerctl: " << failure.message << '\n';
    if (failure.code == ExitCode::usage) {
        // The usage of what the words name, as far as they name anything.
        auto invocation = parse_arguments(arguments);
        std::cerr << '\n';
        print_usage(std::cerr, invocation ? invocation->words : std::vector<std::string>{});
    }
    return static_cast<int>(failure.code);
}
