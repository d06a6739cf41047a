// File: security_descriptor.h
//
// The owner and DACL of a file or folder as a value type (STYLE 8, after Chromium's
// base/win/security_descriptor.h), plus the words operators read in messages: account names
// and rights.
//
//   auto info = read_security(handle);           // GetSecurityInfo on an open handle, never by name
//   auto info = parse_sddl(L"O:SYD:(A;;FA;;;SY)");  // the same value from SDDL (tests, fixes)
//   std::string who = account_name(info->owner_sid);   // "BUILTIN\Administrators" or the SID
//
// Thread-safety: pure functions of their arguments and the account database.
#pragma once

#if !defined(_WIN32)
#error "security_descriptor.h is for Windows; CMake should have picked src/posix"
#endif

#include "stsecrets/error.h"

#include <windows.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sts::win {

// Well-known SIDs the checks trust.
inline constexpr std::string_view kSidSystem = "S-1-5-18";
inline constexpr std::string_view kSidAdministrators = "S-1-5-32-544";
inline constexpr std::string_view kSidTrustedInstaller =
    "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464";

struct AceInfo {
  std::uint8_t type = 0;      // ACCESS_ALLOWED_ACE_TYPE, ACCESS_DENIED_ACE_TYPE, or another type
  std::uint8_t flags = 0;     // INHERITED_ACE, INHERIT_ONLY_ACE, ...
  std::uint32_t mask = 0;     // access mask as stored (generic bits not mapped)
  std::string sid;            // "S-1-5-18"; "" when the entry type carries no plain SID
  bool allow() const noexcept { return type == ACCESS_ALLOWED_ACE_TYPE; }
  bool deny() const noexcept { return type == ACCESS_DENIED_ACE_TYPE; }
  bool inherited() const noexcept { return (flags & INHERITED_ACE) != 0; }
  bool inherit_only() const noexcept { return (flags & INHERIT_ONLY_ACE) != 0; }
};

struct SecurityInfo {
  std::string owner_sid;      // "" when the descriptor has no owner
  bool null_dacl = false;     // no DACL, or a NULL DACL: everyone has full access
  std::vector<AceInfo> aces;  // in DACL order
};

// Reads owner and DACL from an open handle (needs READ_CONTROL).
Result<SecurityInfo> read_security(HANDLE handle);
// Parses an SDDL string (O: and D: parts) into the same value.
Result<SecurityInfo> parse_sddl(std::wstring_view sddl);
SecurityInfo from_descriptor(PSECURITY_DESCRIPTOR sd);

// "S-1-5-21-..." of the user the process runs as ("" if the token cannot be read).
std::string current_user_sid();
// "DOMAIN\name" (or "name"), falling back to the SID string when the account is unknown.
std::string account_name(std::string_view sid);
// "BUILTIN\Users (S-1-5-32-545)".
std::string account_text(std::string_view sid);
// "full control", "read and execute", or the rights one by one: "write data, append data".
std::string rights_in_words(std::uint32_t mask, bool folder);
// One line for `stsecrets check`: "BUILTIN\Users (S-1-5-32-545): allow read and execute (inherited)".
std::string ace_text(const AceInfo& ace, bool folder);

}  // namespace sts::win
