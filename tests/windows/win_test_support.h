// File: win_test_support.h
//
// Helpers for the Windows tests: a temporary folder inside the Wine prefix (C:\users\...\Temp),
// DACLs from SDDL, a copy of the fake backend with a given DACL, process liveness.
#pragma once

#include <string>
#include <string_view>

namespace sts::wintest {

// The fake backend as a Windows path (the build tree is under Wine's Z: drive).
std::string fake_backend_source();

// A fresh folder under the Windows temp folder, owner-only, removed (best effort) on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "\\" + std::string(name); }
 private:
  std::string path_;
};

// Sets the DACL (and the owner when the SDDL has O:) of path. "{U}" in sddl becomes the current
// user's SID. Returns false when Windows/Wine refused.
bool set_sddl(const std::string& path, std::string sddl);
// The owner + DACL as SDDL, for diagnostics.
std::string get_sddl(const std::string& path);
std::string expand_user(std::string sddl);
void write_file(const std::string& path, std::string_view bytes);
void make_dir(const std::string& path);
// Copies the fake backend to path.
void copy_fake_backend(const std::string& path);
bool process_alive(unsigned long pid);

}  // namespace sts::wintest
