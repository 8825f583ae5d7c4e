// Test support library: helpers shared by the integration tests (see the other headers here).
#pragma once
