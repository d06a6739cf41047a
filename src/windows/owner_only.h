// File: owner_only.h
//
// SECURITY_ATTRIBUTES with a protected DACL of one entry: the current user, full control. What
// Windows gives the files, folders and pipes stsecrets creates for itself (output files and
// folders, the audit log, the backend's pipe ends): nothing is inherited from the folder above,
// whatever it would pass down.
//
//   OwnerOnlyAttributes owner_only(OwnerOnlyAttributes::Inherit::to_children);   // a folder
//   if (!owner_only.ok()) return make_error(Code::internal, "cannot build an owner-only DACL");
//   ::CreateDirectoryW(path, owner_only.get());
//
// Ownership: owns the descriptor (LocalFree). Thread-safety: one object per thread.
#pragma once

#if !defined(_WIN32)
#error "owner_only.h is for Windows; CMake should have picked src/posix"
#endif

#include "windows/scoped_handle.h"

#include <windows.h>

namespace sts::win {

class OwnerOnlyAttributes {
 public:
  enum class Inherit {
    none,         // a file or pipe
    to_children,  // a folder: the entry is inherited by what is created in it (OI)(CI)
  };
  explicit OwnerOnlyAttributes(Inherit inherit = Inherit::none);
  OwnerOnlyAttributes(const OwnerOnlyAttributes&) = delete;
  OwnerOnlyAttributes& operator=(const OwnerOnlyAttributes&) = delete;

  // False when the current user's SID or the descriptor could not be built.
  bool ok() const noexcept { return sa_.lpSecurityDescriptor != nullptr; }
  SECURITY_ATTRIBUTES* get() noexcept { return &sa_; }

 private:
  ScopedLocal<void> sd_;
  SECURITY_ATTRIBUTES sa_{sizeof(SECURITY_ATTRIBUTES), nullptr, FALSE};
};

}  // namespace sts::win
