// Test support library: helpers shared by the integration tests and the benchmarks.
#pragma once

#include "support/clients.hpp"
#include "support/daemon.hpp"
#include "support/fixture_files.hpp"
#include "support/fixture_server.hpp"
#include "support/keys.hpp"
#include "support/messages.hpp"
#include "support/redis_daemons.hpp"
#include "support/redis_server.hpp"
#include "support/reference_bars.hpp"
#include "support/schemas.hpp"
#include "support/temp_dir.hpp"
#include "support/tick_bars.hpp"
