// File: audit_folder_rules.h
//
// The rules on the audit log's own folder (SPEC 6, file_io_windows.cpp) as a function of its
// owner + DACL (security_descriptor.h), so they can be tested with descriptors built from SDDL,
// including ones Wine cannot store on a folder (a foreign owner):
//
//   auto info = win::parse_sddl(L"O:S-1-5-21-1-2-3-1001D:P(A;OICI;FA;;;S-1-5-18)");
//   Status st = platform::audit_folder_verdict(*info, "C:\\ProgramData\\stsecrets");
//
// The folder must be owned by the current user, the token's default owner, SYSTEM,
// Administrators or TrustedInstaller (an owner may always change its permissions), and no other
// principal may delete children, delete it or change its permissions or owner.
// Thread-safety: no shared state.
#pragma once

#if !defined(_WIN32)
#error "audit_folder_rules.h is for Windows; CMake should have picked src/posix"
#endif

#include "stsecrets/error.h"
#include "windows/security_descriptor.h"

#include <string>

namespace sts::platform {

// ok, or config_insecure with the first failing rule: "DETAIL; FIX", naming `dir`.
Status audit_folder_verdict(const win::SecurityInfo& sec, const std::string& dir);

}  // namespace sts::platform
