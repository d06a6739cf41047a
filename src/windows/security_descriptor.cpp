// Owner + DACL as a value type, account names and rights in words (security_descriptor.h).
#if !defined(_WIN32)
#error "security_descriptor.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "windows/security_descriptor.h"

#include "windows/scoped_handle.h"
#include "windows/wide_string.h"

#include <aclapi.h>
#include <sddl.h>

#include <cstdio>
#include <memory>

namespace sts::win {
namespace {

std::string sid_string(PSID sid) {
  if (sid == nullptr || !::IsValidSid(sid)) return {};
  ScopedLocal<wchar_t> text;
  if (!::ConvertSidToStringSidW(sid, text.out())) return {};
  return to_utf8(text.get());
}

}  // namespace

SecurityInfo from_descriptor(PSECURITY_DESCRIPTOR sd) {
  SecurityInfo info;
  PSID owner = nullptr;
  BOOL defaulted = FALSE;
  if (::GetSecurityDescriptorOwner(sd, &owner, &defaulted)) info.owner_sid = sid_string(owner);
  BOOL present = FALSE;
  PACL dacl = nullptr;
  if (!::GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present || dacl == nullptr) {
    info.null_dacl = true;
    return info;
  }
  for (DWORD i = 0; i < dacl->AceCount; ++i) {
    void* raw = nullptr;
    if (!::GetAce(dacl, i, &raw)) continue;
    auto* header = static_cast<ACE_HEADER*>(raw);
    AceInfo ace;
    ace.type = header->AceType;
    ace.flags = header->AceFlags;
    // ACCESS_ALLOWED_ACE and ACCESS_DENIED_ACE share one layout: header, mask, SID. Other types
    // (object, callback, ...) are reported with their mask and without a SID; the checks
    // reject them anyway.
    ace.mask = static_cast<ACCESS_ALLOWED_ACE*>(raw)->Mask;
    if (ace.allow() || ace.deny()) {
      ace.sid = sid_string(&static_cast<ACCESS_ALLOWED_ACE*>(raw)->SidStart);
    }
    info.aces.push_back(std::move(ace));
  }
  return info;
}

Result<SecurityInfo> read_security(HANDLE handle) {
  PSID owner = nullptr;
  PACL dacl = nullptr;
  ScopedLocal<void> sd;
  DWORD rc = ::GetSecurityInfo(handle, SE_FILE_OBJECT, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION,
                               &owner, nullptr, &dacl, nullptr, sd.out());
  if (rc != ERROR_SUCCESS) {
    return make_error(Code::exec_rejected, "cannot read the owner and DACL: " + system_message(rc), static_cast<int>(rc));
  }
  return from_descriptor(sd.get());
}

Result<SecurityInfo> parse_sddl(std::wstring_view sddl) {
  ScopedLocal<void> sd;
  std::wstring text(sddl);
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(text.c_str(), SDDL_REVISION_1, sd.out(), nullptr)) {
    DWORD e = ::GetLastError();
    return make_error(Code::internal, "invalid SDDL: " + system_message(e), static_cast<int>(e));
  }
  return from_descriptor(sd.get());
}

std::string current_user_sid() {
  HANDLE raw = nullptr;
  if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &raw)) return {};
  ScopedHandle token(raw);
  DWORD size = 0;
  ::GetTokenInformation(token.get(), TokenUser, nullptr, 0, &size);
  if (size == 0) return {};
  auto buf = std::make_unique<unsigned char[]>(size);
  if (!::GetTokenInformation(token.get(), TokenUser, buf.get(), size, &size)) return {};
  return sid_string(reinterpret_cast<TOKEN_USER*>(buf.get())->User.Sid);
}

std::string account_name(std::string_view sid) {
  PSID raw = nullptr;
  std::wstring wsid = to_wide(sid);
  if (sid.empty() || !::ConvertStringSidToSidW(wsid.c_str(), &raw)) return std::string(sid);
  std::unique_ptr<void, decltype(&::LocalFree)> owned(raw, &::LocalFree);
  wchar_t name[256];
  wchar_t domain[256];
  DWORD name_len = 256;
  DWORD domain_len = 256;
  SID_NAME_USE use;
  if (!::LookupAccountSidW(nullptr, raw, name, &name_len, domain, &domain_len, &use)) return std::string(sid);
  std::wstring full = domain_len != 0 ? std::wstring(domain, domain_len) + L"\\" + std::wstring(name, name_len)
                                      : std::wstring(name, name_len);
  return to_utf8(full);
}

std::string account_text(std::string_view sid) {
  std::string name = account_name(sid);
  if (name == sid) return name;
  return name + " (" + std::string(sid) + ")";
}

std::string rights_in_words(std::uint32_t mask, bool folder) {
  // Shortcuts icacls also uses (F, M, RX), without SYNCHRONIZE, which changes nothing.
  constexpr auto kSync = static_cast<std::uint32_t>(SYNCHRONIZE);
  constexpr auto kFull = static_cast<std::uint32_t>(FILE_ALL_ACCESS) & ~kSync;
  constexpr auto kReadExec = static_cast<std::uint32_t>(FILE_GENERIC_READ | FILE_GENERIC_EXECUTE) & ~kSync;
  constexpr auto kModify = (static_cast<std::uint32_t>(FILE_GENERIC_READ | FILE_GENERIC_EXECUTE | FILE_GENERIC_WRITE) |
                            static_cast<std::uint32_t>(DELETE)) & ~kSync;
  std::uint32_t m = mask & ~kSync;
  if ((m & kFull) == kFull) return "full control";
  if (m == kModify) return "modify";
  if (m == kReadExec) return folder ? "read, list and traverse" : "read and execute";
  struct Bit { unsigned long bit; const char* file; const char* dir; };
  static constexpr Bit kBits[] = {
      {GENERIC_ALL, "generic all (full control)", "generic all (full control)"},
      {GENERIC_WRITE, "generic write", "generic write"},
      {GENERIC_READ, "generic read", "generic read"},
      {GENERIC_EXECUTE, "generic execute", "generic execute"},
      {FILE_READ_DATA, "read data", "list folder"},
      {FILE_WRITE_DATA, "write data", "add file"},
      {FILE_APPEND_DATA, "append data", "add subfolder"},
      {FILE_EXECUTE, "execute", "traverse"},
      {FILE_DELETE_CHILD, "delete child", "delete child"},
      {FILE_READ_EA, "read extended attributes", "read extended attributes"},
      {FILE_WRITE_EA, "write extended attributes", "write extended attributes"},
      {FILE_READ_ATTRIBUTES, "read attributes", "read attributes"},
      {FILE_WRITE_ATTRIBUTES, "write attributes", "write attributes"},
      {DELETE, "delete", "delete"},
      {READ_CONTROL, "read permissions", "read permissions"},
      {WRITE_DAC, "change permissions (WRITE_DAC)", "change permissions (WRITE_DAC)"},
      {WRITE_OWNER, "take ownership (WRITE_OWNER)", "take ownership (WRITE_OWNER)"},
  };
  std::string out;
  for (const Bit& b : kBits) {
    if ((m & b.bit) == 0) continue;
    if (!out.empty()) out += ", ";
    out += folder ? b.dir : b.file;
    m &= ~static_cast<std::uint32_t>(b.bit);
  }
  if (m != 0) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "0x%lx", static_cast<unsigned long>(m));
    out += (out.empty() ? "" : ", ") + std::string("other rights ") + hex;
  }
  return out.empty() ? "no rights" : out;
}

std::string ace_text(const AceInfo& ace, bool folder) {
  std::string kind = ace.allow() ? "allow" : ace.deny() ? "deny" : "entry of type " + std::to_string(ace.type);
  std::string who = ace.sid.empty() ? std::string("(no SID)") : account_text(ace.sid);
  std::string line = who + ": " + kind + " " + rights_in_words(ace.mask, folder);
  if (ace.inherited()) line += " (inherited)";
  if (ace.inherit_only()) line += " (inherit only: applies to children)";
  return line;
}

}  // namespace sts::win
