// The commands: the table of what each takes, their handlers, and the usage texts.
#pragma once

#include "arguments.hpp"
#include "failure.hpp"

#include <ostream>
#include <span>

namespace tickerctl {

// Runs the command the arguments name (argv without argv[0]); the failure, if any, is for
// main() to print.
Outcome<void> run_command(std::span<const char* const> arguments, std::ostream& out);

// The general usage, or a command's (or a command group's) when `words` name one.
void print_usage(std::ostream& out, const std::vector<std::string>& words);

}  // namespace tickerctl
