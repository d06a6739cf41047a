// File: test_hooks.h
//
// Seams for the library's own tests, kept out of the public API. Nothing here is installed;
// production code calls the hooks, which do nothing unless a test set them.
//
//   sts::test_hooks::set_after_check([&] { swap_the_file(); });   // tests/integration/test_swap_after_check.cpp
//
// Thread-safety: set the hooks before the code under test runs; they are read without locks.
#pragma once

#include <functional>

namespace sts::test_hooks {

// Called after an executable backend passed its checks and before it is spawned.
void set_after_check(std::function<void()> hook);
void after_check();

}  // namespace sts::test_hooks
