// File: file_io_seams.h
//
// Test seams of file_io_posix.cpp (POSIX only). Tests use them to force each way read_beneath
// opens a file, and to act between write_file_atomic's check of the destination and its rename.
// Production code never calls these; the defaults are the normal behaviour.
//
//   testing::ScopedBeneathWalk manual(testing::BeneathWalk::manual_only);
//   auto r = platform::read_beneath(root, "a/b", 4096);   // through the O_NOFOLLOW walk
//
// Thread-safety: the settings are process-wide atomics; set them from the test's own thread
// while no other thread reads beneath a root.
#pragma once

#if defined(_WIN32)
#error "file_io_seams.h is for POSIX; Windows has one way to open beneath a root"
#endif

#include <functional>
#include <string>

namespace sts::platform::testing {

enum class BeneathWalk {
  automatic,     // openat2(RESOLVE_BENEATH); the walk when openat2 is ENOSYS/EPERM, or EXDEV
                 // (absolute symlinks into the root) (default)
  openat2_only,  // openat2 only: its errors (ENOSYS/EPERM/EXDEV too) are reported as they are
  manual_only,   // the component-by-component O_NOFOLLOW walk only
};
void set_beneath_walk(BeneathWalk walk);

// RAII form of set_beneath_walk: restores automatic on destruction.
class ScopedBeneathWalk {
 public:
  explicit ScopedBeneathWalk(BeneathWalk walk) { set_beneath_walk(walk); }
  ~ScopedBeneathWalk() { set_beneath_walk(BeneathWalk::automatic); }
  ScopedBeneathWalk(const ScopedBeneathWalk&) = delete;
  ScopedBeneathWalk& operator=(const ScopedBeneathWalk&) = delete;
};

// Whether this kernel (and seccomp policy) lets openat2 run.
bool openat2_available();

// Called by write_file_atomic with the destination path after it checked the destination and
// wrote the temporary file, right before it renames; an empty function removes the hook.
void set_before_rename_hook(std::function<void(const std::string& path)> hook);

}  // namespace sts::platform::testing
