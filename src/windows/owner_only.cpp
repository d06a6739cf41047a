// Owner-only security attributes (owner_only.h).
#if !defined(_WIN32)
#error "owner_only.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "windows/owner_only.h"

#include "windows/security_descriptor.h"
#include "windows/wide_string.h"

#include <sddl.h>

#include <string>

namespace sts::win {

OwnerOnlyAttributes::OwnerOnlyAttributes(Inherit inherit) {
  const std::string user = current_user_sid();
  if (user.empty()) return;
  // P: protected, so the folder above passes nothing down; FA: full access for the user alone.
  const std::wstring sddl = std::wstring(inherit == Inherit::to_children ? L"D:P(A;OICI;FA;;;" : L"D:P(A;;FA;;;") +
                            to_wide(user) + L")";
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, sd_.out(), nullptr)) return;
  sa_.lpSecurityDescriptor = sd_.get();
}

}  // namespace sts::win
