// SPEC 5 on Windows: the DACL matrix (DACLs from SDDL, applied with SetFileSecurityW and read
// back by the check through its held handle), script refusal, path rules, the held handle.
#include "common/executable_check.h"
#include "windows/acl_rules.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"
#include "win_test_support.h"

#include <catch2/catch.hpp>
#include <windows.h>
#include <sddl.h>

#include <optional>

using namespace sts;
using namespace sts::wintest;

namespace {

// A backend copy with `file_sddl`, in a folder with `folder_sddl` ("" = leave as created).
struct Setup {
  TempDir tmp;
  std::string folder = tmp / "backend";
  std::string exe = folder + "\\backend.exe";
  Setup(const std::string& folder_sddl, const std::string& file_sddl, bool copy_after_folder = false) {
    make_dir(folder);
    REQUIRE(set_sddl(tmp.path(), "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)"));
    if (copy_after_folder && !folder_sddl.empty()) REQUIRE(set_sddl(folder, folder_sddl));
    copy_fake_backend(exe);
    if (!copy_after_folder && !folder_sddl.empty()) REQUIRE(set_sddl(folder, folder_sddl));
    if (!file_sddl.empty()) REQUIRE(set_sddl(exe, file_sddl));
  }
};

Result<VerifiedExecutable> check(const std::string& path, ExecutableReport* report = nullptr) {
  return platform::check_executable(CheckOptions{path, false, ""}, report);
}

constexpr const char* kGoodFolder = "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";

struct Case {
  const char* name;
  const char* folder;  // folder DACL
  const char* file;    // file DACL
  bool ok;
  const char* fragment;  // expected in the message when rejected
};

// The matrix. {U} is the current user.
const Case kCases[] = {
    {"owner only", kGoodFolder, "D:P(A;;FA;;;{U})", true, ""},
    {"owner + SYSTEM + Administrators", kGoodFolder, "D:P(A;;FA;;;{U})(A;;FA;;;SY)(A;;FA;;;BA)", true, ""},
    {"owner read-execute only", kGoodFolder, "D:P(A;;0x1200a9;;;{U})", true, ""},
    {"deny for a foreign SID is harmless", kGoodFolder, "D:P(D;;FA;;;S-1-5-21-1-2-3-1001)(A;;FA;;;{U})", true, ""},
    {"Everyone read-execute", kGoodFolder, "D:P(A;;FA;;;{U})(A;;0x1200a9;;;WD)", false, "S-1-1-0"},
    {"Users write", kGoodFolder, "D:P(A;;FA;;;{U})(A;;FW;;;BU)", false, "S-1-5-32-545"},
    {"Authenticated Users full", kGoodFolder, "D:P(A;;FA;;;{U})(A;;FA;;;AU)", false, "full control"},
    {"INTERACTIVE append", kGoodFolder, "D:P(A;;FA;;;{U})(A;;0x4;;;IU)", false, "append data"},
    {"Everyone WRITE_DAC", kGoodFolder, "D:P(A;;FA;;;{U})(A;;WD;;;WD)", false, "change permissions"},
    {"foreign SID read", kGoodFolder, "D:P(A;;FA;;;{U})(A;;FR;;;S-1-5-21-1-2-3-1001)", false, "S-1-5-21-1-2-3-1001"},
    {"deny for the current user", kGoodFolder, "D:P(D;;WD;;;{U})(A;;FA;;;{U})", false, "deny entry"},
    {"deny for Administrators", kGoodFolder, "D:P(D;;FA;;;BA)(A;;FA;;;{U})", false, "deny entry"},
    {"NULL DACL", kGoodFolder, "D:NO_ACCESS_CONTROL", false, "NULL DACL"},
    {"no execute for the user", kGoodFolder, "D:P(A;;FR;;;{U})", false, "execute"},
    {"only SYSTEM", kGoodFolder, "D:P(A;;FA;;;SY)", false, "execute"},
    {"folder: Everyone add file", "D:P(A;;FA;;;{U})(A;;0x2;;;WD)", "D:P(A;;FA;;;{U})", false, "add file"},
    {"folder: Users delete child", "D:P(A;;FA;;;{U})(A;;0x40;;;BU)", "D:P(A;;FA;;;{U})", false, "delete child"},
    {"folder: Users full", "D:P(A;;FA;;;{U})(A;;FA;;;BU)", "D:P(A;;FA;;;{U})", false, "folder"},
    {"folder: Everyone DELETE", "D:P(A;;FA;;;{U})(A;;SD;;;WD)", "D:P(A;;FA;;;{U})", false, "delete"},
    {"folder: Users read-execute is fine", "D:P(A;;FA;;;{U})(A;;0x1200a9;;;BU)", "D:P(A;;FA;;;{U})", true, ""},
    {"folder: AU add subfolder only is fine", "D:P(A;;FA;;;{U})(A;;0x4;;;AU)", "D:P(A;;FA;;;{U})", true, ""},
    {"folder: inherit-only Users full is fine", "D:P(A;;FA;;;{U})(A;OICIIO;FA;;;BU)", "D:P(A;;FA;;;{U})", true, ""},
    {"folder: deny for the user", "D:P(D;;DC;;;{U})(A;;FA;;;{U})", "D:P(A;;FA;;;{U})", false, "deny entry"},
};

}  // namespace

// Wine 8 keeps a file's DACL only as far as Unix mode bits can express it (the owner and
// Everyone; other SIDs, deny entries and NULL DACLs are dropped). So every case runs through the
// rules on the descriptor parsed from SDDL (the same from_descriptor() path the check uses on
// the handle), and additionally end-to-end on a real file whenever the system stored the DACL
// as asked (all of them on Windows; the owner/Everyone cases under Wine).
// A descriptor with a NULL DACL, built directly: Wine's SDDL parser turns NO_ACCESS_CONTROL
// into an empty DACL instead.
win::SecurityInfo null_dacl_info() {
  SECURITY_DESCRIPTOR sd;
  ::InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
  ::SetSecurityDescriptorDacl(&sd, TRUE, nullptr, FALSE);
  PSID user = nullptr;
  ::ConvertStringSidToSidW(win::to_wide(win::current_user_sid()).c_str(), &user);
  ::SetSecurityDescriptorOwner(&sd, user, FALSE);
  win::SecurityInfo info = win::from_descriptor(&sd);
  ::LocalFree(user);
  return info;
}

bool stored_as_asked(const std::string& path, const std::string& asked) {
  auto want = win::parse_sddl(win::to_wide(expand_user(asked)));
  auto got = win::parse_sddl(win::to_wide(get_sddl(path)));
  if (!want || !got) return false;
  if (want->null_dacl != got->null_dacl) return false;
  for (const auto& a : want->aces) {
    bool found = false;
    for (const auto& b : got->aces) {
      found = found || (a.sid == b.sid && a.type == b.type && (a.mask & ~0x100000u) == (b.mask & ~0x100000u));
    }
    if (!found) return false;
  }
  return true;
}

TEST_CASE("DACL matrix", "[acl]") {
  const std::string user = win::current_user_sid();
  int end_to_end = 0;
  for (const Case& c : kCases) {
    DYNAMIC_SECTION(c.name) {
      // 1. The rules on the descriptors.
      auto file = std::string(c.file) == "D:NO_ACCESS_CONTROL"
                      ? Result<win::SecurityInfo>(null_dacl_info())
                      : win::parse_sddl(win::to_wide(expand_user(std::string("O:{U}") + c.file)));
      auto folder = win::parse_sddl(win::to_wide(expand_user(std::string("O:{U}") + c.folder)));
      REQUIRE(file.has_value());
      REQUIRE(folder.has_value());
      auto vf = win::evaluate_acl(*file, user, win::ObjectKind::file, "C:\\sts\\backend.exe");
      auto vd = win::evaluate_acl(*folder, user, win::ObjectKind::folder, "C:\\sts");
      std::optional<std::string> failure = vf.failure ? vf.failure : vd.failure;
      if (c.ok) {
        INFO(failure.value_or(""));
        CHECK_FALSE(failure.has_value());
      } else {
        REQUIRE(failure.has_value());
        CHECK_THAT(*failure, Catch::Contains(c.fragment));
        CHECK_THAT(*failure, Catch::Contains("icacls"));
      }

      // 2. End-to-end through check_executable on a real file, when representable.
      Setup s(c.folder, c.file);
      if (!stored_as_asked(s.exe, c.file) || !stored_as_asked(s.folder, c.folder)) {
        SUCCEED("not representable on this system's file system: " << get_sddl(s.exe));
      } else {
        ++end_to_end;
        INFO("file: " << get_sddl(s.exe) << "  folder: " << get_sddl(s.folder));
        ExecutableReport report;
        auto r = check(s.exe, &report);
        if (c.ok) {
          INFO((r ? std::string() : r.error().message));
          CHECK(r.has_value());
          CHECK(report.ok());
          CHECK(report.sha256.size() == 64);
        } else {
          REQUIRE_FALSE(r.has_value());
          CHECK(r.error().code == Code::exec_rejected);
          CHECK_THAT(r.error().message, Catch::Contains(c.fragment));
          CHECK_THAT(r.error().message, Catch::Contains("icacls"));
          CHECK(r.error().message.find('\n') == std::string::npos);
          REQUIRE(report.error.has_value());
          bool has_fix = false;
          for (const auto& rule : report.rules) has_fix = has_fix || (!rule.ok && rule.fix.find("icacls") != std::string::npos);
          CHECK(has_fix);
        }
      }
    }
  }
  (void)end_to_end;
}

TEST_CASE("end to end on files: the owner/Everyone cases Wine can store", "[acl][files]") {
  struct FileCase { const char* name; const char* folder; const char* file; bool ok; const char* fragment; };
  const FileCase cases[] = {
      {"owner only", kGoodFolder, "D:P(A;;FA;;;{U})", true, ""},
      {"owner read-execute", kGoodFolder, "D:P(A;;0x1200a9;;;{U})(A;;FA;;;SY)", true, ""},
      {"Everyone read-execute", kGoodFolder, "D:P(A;;FA;;;{U})(A;;0x1200a9;;;WD)", false, "S-1-1-0"},
      {"Everyone write", kGoodFolder, "D:P(A;;FA;;;{U})(A;;0x1201bf;;;WD)", false, "write data"},
      {"folder writable by Everyone", "D:P(A;;FA;;;{U})(A;;FA;;;WD)", "D:P(A;;FA;;;{U})", false, "folder"},
  };
  for (const auto& c : cases) {
    DYNAMIC_SECTION(c.name) {
      Setup s(c.folder, c.file);
      INFO("file: " << get_sddl(s.exe) << "  folder: " << get_sddl(s.folder));
      auto r = check(s.exe);
      if (c.ok) {
        INFO((r ? std::string() : r.error().message));
        CHECK(r.has_value());
      } else {
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().code == Code::exec_rejected);
        CHECK_THAT(r.error().message, Catch::Contains(c.fragment));
        CHECK_THAT(r.error().message, Catch::Contains("icacls"));
      }
    }
  }
}

TEST_CASE("an entry inherited from a writable parent folder is rejected", "[acl]") {
  // The folder grants Users full control to its children; the file is created after that.
  // Users on Windows; Everyone here because Wine stores only owner/Everyone on files.
  Setup s("D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;WD)", "", true);
  INFO("file: " << get_sddl(s.exe) << "  folder: " << get_sddl(s.folder));
  auto r = check(s.exe);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Code::exec_rejected);
  CHECK_THAT(r.error().message, Catch::Contains("S-1-1-0"));
}

TEST_CASE("inherited entries on the file are named as inherited, with /inheritance:d in the fix", "[acl]") {
  win::SecurityInfo info = win::parse_sddl(win::to_wide(expand_user("O:{U}D:(A;;FA;;;{U})(A;ID;FA;;;BU)"))).value();
  auto v = win::evaluate_acl(info, win::current_user_sid(), win::ObjectKind::file, "C:\\b\\x.exe");
  REQUIRE(v.failure.has_value());
  CHECK_THAT(*v.failure, Catch::Contains("(inherited)"));
  CHECK_THAT(*v.failure, Catch::Contains("/inheritance:d /remove:g *S-1-5-32-545"));
}

TEST_CASE("a foreign owner is rejected", "[acl]") {
  // Wine 8 accepts SetFileSecurityW(OWNER) for a foreign SID but keeps reporting the Unix
  // owner's SID, so the rule is tested on the descriptor itself; on real Windows (as an
  // administrator) the file path below is rejected as well.
  win::SecurityInfo info =
      win::parse_sddl(win::to_wide(expand_user("O:S-1-5-21-1-2-3-1001D:P(A;;FA;;;{U})"))).value();
  auto v = win::evaluate_acl(info, win::current_user_sid(), win::ObjectKind::file, "C:\\b\\x.exe");
  REQUIRE(v.failure.has_value());
  CHECK_THAT(*v.failure, Catch::Contains("is owned by S-1-5-21-1-2-3-1001"));
  CHECK_THAT(*v.failure, Catch::Contains("/setowner"));

  Setup s(kGoodFolder, "D:P(A;;FA;;;{U})");
  bool set = set_sddl(s.exe, "O:S-1-5-21-1-2-3-1001");
  std::string now = get_sddl(s.exe);
  if (set && now.find("O:S-1-5-21-1-2-3-1001") != std::string::npos) {
    auto r = check(s.exe);
    REQUIRE_FALSE(r.has_value());
    CHECK_THAT(r.error().message, Catch::Contains("owned by"));
  } else {
    WARN("this system did not store the foreign owner (" << now << "); covered by the descriptor test above");
  }
}

TEST_CASE("Administrators and SYSTEM may own the file", "[acl]") {
  for (const char* owner : {"SY", "BA"}) {
    win::SecurityInfo info =
        win::parse_sddl(win::to_wide(expand_user(std::string("O:") + owner + "D:P(A;;FA;;;{U})"))).value();
    auto v = win::evaluate_acl(info, win::current_user_sid(), win::ObjectKind::file, "C:\\b\\x.exe");
    CHECK_FALSE(v.failure.has_value());
  }
}

TEST_CASE("unknown entry types are rejected", "[acl]") {
  // A system-audit entry inside the DACL: not an allow or deny entry the rules understand.
  // Built with the ACL API because Wine's SDDL parser knows no object or callback entries.
  alignas(8) unsigned char acl_buf[512];
  auto* acl = reinterpret_cast<PACL>(acl_buf);
  REQUIRE(::InitializeAcl(acl, sizeof acl_buf, ACL_REVISION));
  PSID user = nullptr;
  PSID everyone = nullptr;
  REQUIRE(::ConvertStringSidToSidW(win::to_wide(win::current_user_sid()).c_str(), &user));
  REQUIRE(::ConvertStringSidToSidW(L"S-1-1-0", &everyone));
  REQUIRE(::AddAccessAllowedAce(acl, ACL_REVISION, FILE_ALL_ACCESS, user));
  REQUIRE(::AddAuditAccessAce(acl, ACL_REVISION, FILE_ALL_ACCESS, everyone, TRUE, TRUE));
  SECURITY_DESCRIPTOR sd;
  ::InitializeSecurityDescriptor(&sd, SECURITY_DESCRIPTOR_REVISION);
  ::SetSecurityDescriptorOwner(&sd, user, FALSE);
  ::SetSecurityDescriptorDacl(&sd, TRUE, acl, FALSE);
  auto info = win::from_descriptor(&sd);
  ::LocalFree(user);
  ::LocalFree(everyone);
  auto v = win::evaluate_acl(info, win::current_user_sid(), win::ObjectKind::file, "C:\\b\\x.exe");
  REQUIRE(v.failure.has_value());
  CHECK_THAT(*v.failure, Catch::Contains("unsupported type 2"));
}

TEST_CASE("the rights are named in words", "[acl]") {
  CHECK(win::rights_in_words(FILE_ALL_ACCESS, false) == "full control");
  CHECK(win::rights_in_words(0x1200a9, false) == "read and execute");
  CHECK(win::rights_in_words(FILE_WRITE_DATA | FILE_APPEND_DATA, false) == "write data, append data");
  CHECK(win::rights_in_words(FILE_ADD_FILE | FILE_DELETE_CHILD, true) == "add file, delete child");
  CHECK(win::rights_in_words(GENERIC_WRITE, false) == "generic write");
  CHECK(win::account_name("S-1-5-18").find("SYSTEM") != std::string::npos);
  CHECK(win::account_name("S-1-5-21-1-2-3-1001") == "S-1-5-21-1-2-3-1001");
}

// The default DACLs of a Windows 10 install (icacls output turned into SDDL), which Wine cannot
// store on a file: tested through the descriptor path.
constexpr const wchar_t* kProgramDataSddl =   // Users: (OI)(CI)(RX) and (CI)(WD,AD,WEA,WA)
    L"O:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;0x100116;;;BU)";
constexpr const wchar_t* kDriveRootSddl =     // Authenticated Users: (OI)(CI)(IO)(M) and (AD)
    L"O:SYD:(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;OICI;0x1200a9;;;BU)(A;OICIIO;SDGXGWGR;;;AU)(A;;0x4;;;AU)";

TEST_CASE("system folders: C:\\ and C:\\ProgramData pass above the backend's own folder", "[acl][system]") {
  const std::string user = win::current_user_sid();
  for (const auto* sddl : {kProgramDataSddl, kDriveRootSddl}) {
    auto info = win::parse_sddl(sddl);
    REQUIRE(info);
    // Further up, "add file" (Users on C:\ProgramData) cannot replace anything below.
    auto above = win::evaluate_acl(*info, user, win::ObjectKind::ancestor, "C:\\ProgramData", "the config file");
    INFO(above.failure.value_or(""));
    CHECK_FALSE(above.failure);
  }
}

TEST_CASE("system folders: as the backend's own folder, add file fails, and the fix is never icacls on it",
          "[acl][system]") {
  const std::string user = win::current_user_sid();
  auto info = win::parse_sddl(kProgramDataSddl);
  REQUIRE(info);
  auto own = win::evaluate_acl(*info, user, win::ObjectKind::folder, "C:\\ProgramData");
  REQUIRE(own.failure);
  CHECK_THAT(*own.failure, Catch::Contains("folder C:\\ProgramData lets BUILTIN\\Users (S-1-5-32-545) add file"));
  CHECK_THAT(*own.failure, Catch::EndsWith("so they could replace the backend: put the backend in a folder of its own "
                                          "(such as C:\\Program Files\\stsecrets) instead of changing "
                                          "C:\\ProgramData, a system folder"));
  CHECK(own.failure->find("icacls") == std::string::npos);
  for (const auto& rule : own.rules) CHECK(rule.fix.find("icacls") == std::string::npos);
  // The same entries on a folder of the operator's own: the icacls fix.
  auto mine = win::evaluate_acl(*info, user, win::ObjectKind::folder, "C:\\sts");
  REQUIRE(mine.failure);
  CHECK_THAT(*mine.failure, Catch::Contains("run icacls \"C:\\sts\" /remove:g *S-1-5-32-545"));
  // Delete child is refused further up too: it would let them rename the folder below away.
  auto writable = win::parse_sddl(L"O:SYD:(A;;FA;;;SY)(A;;0x40;;;BU)");
  REQUIRE(writable);
  auto up = win::evaluate_acl(*writable, user, win::ObjectKind::ancestor, "D:\\tools");
  REQUIRE(up.failure);
  CHECK_THAT(*up.failure, Catch::Contains("delete child"));
}

TEST_CASE("scripts are refused with a hint to wrap them in an .exe", "[scripts]") {
  TempDir tmp;
  REQUIRE(set_sddl(tmp.path(), "D:P(A;OICI;FA;;;{U})"));
  for (const char* name : {"backend.bat", "backend.cmd", "backend.ps1", "backend.py", "BACKEND.BAT"}) {
    std::string p = tmp / name;
    write_file(p, "@echo off\r\necho {}\r\n");
    auto r = check(p);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Code::exec_rejected);
    CHECK_THAT(r.error().message, Catch::Contains("wrap it in an .exe"));
  }
}

TEST_CASE("a text file named .exe is refused by its header", "[scripts]") {
  TempDir tmp;
  REQUIRE(set_sddl(tmp.path(), "D:P(A;OICI;FA;;;{U})"));
  std::string p = tmp / "backend.exe";
  write_file(p, "@echo off\r\necho {}\r\n");
  REQUIRE(set_sddl(p, "D:P(A;;FA;;;{U})"));
  auto r = check(p);
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Code::exec_rejected);
  CHECK_THAT(r.error().message, Catch::Contains("not a Windows executable"));

  write_file(p, std::string("MZ") + std::string(200, '\0'));  // MZ without a PE header
  auto r2 = check(p);
  REQUIRE_FALSE(r2.has_value());
  CHECK_THAT(r2.error().message, Catch::Contains("no MZ/PE header"));
}

TEST_CASE("relative, UNC and device paths and allow_group_exec are configuration errors", "[paths]") {
  for (const char* p : {"backend.exe", "C:backend.exe", "\\backend.exe", "\\\\server\\share\\backend.exe",
                        "//server/share/backend.exe", "\\\\?\\C:\\backend.exe", "C:\\a\\..\\backend.exe", ""}) {
    auto r = check(p);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().code == Code::config_invalid);
    INFO(r.error().message);
  }
  auto r = platform::check_executable(CheckOptions{"C:\\backend.exe", true, ""});
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Code::config_invalid);
  CHECK_THAT(r.error().message, Catch::Contains("allow_group_exec"));
}

TEST_CASE("a missing backend is rejected", "[paths]") {
  TempDir tmp;
  auto r = check(tmp / "missing.exe");
  REQUIRE_FALSE(r.has_value());
  CHECK(r.error().code == Code::exec_rejected);
  CHECK_THAT(r.error().message, Catch::Contains("missing.exe"));
}

TEST_CASE("the held handle blocks writing, deleting and renaming until released", "[hold]") {
  Setup s(kGoodFolder, "D:P(A;;FA;;;{U})");
  std::wstring w = win::to_wide(s.exe);
  {
    auto r = check(s.exe);
    REQUIRE(r.has_value());
    HANDLE h = ::CreateFileW(w.c_str(), GENERIC_WRITE, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr,
                             OPEN_EXISTING, 0, nullptr);
    CHECK(h == INVALID_HANDLE_VALUE);
    if (h != INVALID_HANDLE_VALUE) ::CloseHandle(h);
    CHECK_FALSE(::DeleteFileW(w.c_str()));
    CHECK_FALSE(::MoveFileW(w.c_str(), (w + L".moved").c_str()));
  }
  HANDLE h = ::CreateFileW(w.c_str(), GENERIC_WRITE, 0, nullptr, OPEN_EXISTING, 0, nullptr);
  CHECK(h != INVALID_HANDLE_VALUE);
  if (h != INVALID_HANDLE_VALUE) ::CloseHandle(h);
}

TEST_CASE("the SHA-256 pin is computed from the held handle", "[sha256]") {
  Setup s(kGoodFolder, "D:P(A;;FA;;;{U})");
  auto r = check(s.exe);
  REQUIRE(r.has_value());
  std::string sum = r->sha256();
  REQUIRE(sum.size() == 64);
  auto same = platform::check_executable(CheckOptions{s.exe, false, sum});
  CHECK(same.has_value());
  auto other = platform::check_executable(CheckOptions{s.exe, false, std::string(64, '0')});
  REQUIRE_FALSE(other.has_value());
  CHECK(other.error().code == Code::exec_rejected);
  CHECK_THAT(other.error().message, Catch::Contains(sum));
}

TEST_CASE("the report lists every rule and the ACL in words", "[report]") {
  Setup s(kGoodFolder, "D:P(A;;FA;;;{U})(A;;FA;;;SY)");
  ExecutableReport report;
  auto r = check(s.exe, &report);
  REQUIRE(r.has_value());
  CHECK(report.acl.size() == 2);
  CHECK_FALSE(report.owner.empty());
  bool folder_rule = false;
  for (const auto& rule : report.rules) folder_rule = folder_rule || rule.name.find("folder ") == 0;
  CHECK(folder_rule);
}

// ---- SPEC 2: the main config file ----------------------------------------------------------

TEST_CASE("config file ACL rules: others may read, nobody else may change it", "[config][acl]") {
  struct ConfigCase {
    const char* name;
    const char* sddl;  // with O:{U}
    bool ok;
    const char* fragment;
  };
  const ConfigCase cases[] = {
      {"owner only", "D:P(A;;FA;;;{U})", true, ""},
      {"Users read", "D:P(A;;FA;;;{U})(A;;FR;;;BU)", true, ""},
      {"Everyone read and execute", "D:P(A;;FA;;;{U})(A;;0x1200a9;;;WD)", true, ""},
      {"no execute entry needed", "D:P(A;;FR;;;{U})", true, ""},
      {"Users write", "D:P(A;;FA;;;{U})(A;;FW;;;BU)", false, "write data"},
      {"Everyone append", "D:P(A;;FA;;;{U})(A;;0x4;;;WD)", false, "append data"},
      {"Users change permissions", "D:P(A;;FA;;;{U})(A;;WD;;;BU)", false, "change permissions"},
      {"Users take ownership", "D:P(A;;FA;;;{U})(A;;WO;;;BU)", false, "take ownership"},
      {"Users delete", "D:P(A;;FA;;;{U})(A;;SD;;;BU)", false, "delete"},
      {"Authenticated Users full", "D:P(A;;FA;;;{U})(A;;FA;;;AU)", false, "write data, append data, delete"},
      {"deny for the current user", "D:P(D;;FW;;;{U})(A;;FA;;;{U})", false, "deny entry"},
  };
  const std::string user = win::current_user_sid();
  for (const ConfigCase& c : cases) {
    DYNAMIC_SECTION(c.name) {
      auto info = win::parse_sddl(win::to_wide(expand_user(std::string("O:{U}") + c.sddl)));
      REQUIRE(info.has_value());
      auto v = win::evaluate_acl(*info, user, win::ObjectKind::config, "C:\\sts\\stackstate.yaml");
      if (c.ok) {
        INFO(v.failure.value_or(""));
        CHECK_FALSE(v.failure.has_value());
      } else {
        REQUIRE(v.failure.has_value());
        CHECK_THAT(*v.failure, Catch::Contains("config file C:\\sts\\stackstate.yaml"));
        CHECK_THAT(*v.failure, Catch::Contains(c.fragment));
        CHECK_THAT(*v.failure, Catch::Contains("icacls"));
      }
    }
  }
  SECTION("a foreign owner") {
    auto info = win::parse_sddl(win::to_wide(expand_user("O:S-1-5-21-1-2-3-1001D:P(A;;FA;;;{U})"))).value();
    auto v = win::evaluate_acl(info, user, win::ObjectKind::config, "C:\\sts\\stackstate.yaml");
    REQUIRE(v.failure.has_value());
    CHECK_THAT(*v.failure, Catch::Contains("config file C:\\sts\\stackstate.yaml is owned by S-1-5-21-1-2-3-1001"));
  }
  SECTION("a NULL DACL") {
    auto v = win::evaluate_acl(null_dacl_info(), user, win::ObjectKind::config, "C:\\sts\\stackstate.yaml");
    REQUIRE(v.failure.has_value());
    CHECK_THAT(*v.failure, Catch::Contains("NULL DACL"));
  }
  SECTION("a folder above the config names what could be replaced") {
    auto info = win::parse_sddl(win::to_wide(expand_user("O:{U}D:P(A;;FA;;;{U})(A;;0x2;;;BU)"))).value();
    auto v = win::evaluate_acl(info, user, win::ObjectKind::folder, "C:\\sts", "the config file");
    REQUIRE(v.failure.has_value());
    CHECK_THAT(*v.failure, Catch::Contains("so they could replace the config file"));
  }
}

TEST_CASE("check_config_file on real files", "[config][files]") {
  TempDir tmp;
  REQUIRE(set_sddl(tmp.path(), "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)"));
  const std::string cfg = tmp / "stackstate.yaml";
  write_file(cfg, "a: 1\r\n");
  SECTION("owner only: accepted, every rule listed") {
    REQUIRE(set_sddl(cfg, "D:P(A;;FA;;;{U})"));
    std::vector<CheckRule> rules;
    auto st = platform::check_config_file(cfg, &rules);
    INFO((st ? std::string() : st.error().message));
    CHECK(st.has_value());
    bool folder_rule = false;
    for (const auto& rule : rules) folder_rule = folder_rule || rule.name.find("folder ") == 0;
    CHECK(folder_rule);
  }
  SECTION("Everyone may read: accepted") {
    REQUIRE(set_sddl(cfg, "D:P(A;;FA;;;{U})(A;;0x1200a9;;;WD)"));
    auto st = platform::check_config_file(cfg);
    INFO((st ? std::string() : st.error().message));
    CHECK(st.has_value());
  }
  SECTION("Everyone may write: config_insecure with the icacls fix") {
    REQUIRE(set_sddl(cfg, "D:P(A;;FA;;;{U})(A;;0x1201bf;;;WD)"));
    INFO(get_sddl(cfg));
    auto st = platform::check_config_file(cfg);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().code == Code::config_insecure);
    CHECK_THAT(st.error().message, Catch::Contains("write data"));
    CHECK_THAT(st.error().message, Catch::Contains("icacls"));
    CHECK(st.error().message.find('\n') == std::string::npos);
  }
  SECTION("a folder above it writable by Everyone") {
    REQUIRE(set_sddl(cfg, "D:P(A;;FA;;;{U})"));
    REQUIRE(set_sddl(tmp.path(), "D:P(A;OICI;FA;;;{U})(A;;FA;;;WD)"));
    auto st = platform::check_config_file(cfg);
    REQUIRE_FALSE(st.has_value());
    CHECK(st.error().code == Code::config_insecure);
    CHECK_THAT(st.error().message, Catch::Contains("folder " + tmp.path()));
    CHECK_THAT(st.error().message, Catch::Contains("so they could replace the config file"));
  }
  SECTION("missing, or a folder: config_unreadable") {
    auto missing = platform::check_config_file(tmp / "none.yaml");
    REQUIRE_FALSE(missing.has_value());
    CHECK(missing.error().code == Code::config_unreadable);
    CHECK_THAT(missing.error().message, Catch::Contains("does not exist"));
    auto folder = platform::check_config_file(tmp.path());
    REQUIRE_FALSE(folder.has_value());
    CHECK(folder.error().code == Code::config_unreadable);
    CHECK_THAT(folder.error().message, Catch::Contains("is a folder"));
    CHECK(platform::check_config_file("").error().code == Code::config_unreadable);
  }
}
