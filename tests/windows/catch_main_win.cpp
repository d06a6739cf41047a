// Catch2 v2 main for the Windows tests.
#define CATCH_CONFIG_MAIN
#define DO_NOT_USE_WMAIN  // UNICODE is defined for the library; keep the narrow main()
#include <catch2/catch.hpp>
