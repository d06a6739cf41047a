// The --output-dir folder of `stsecrets resolve` on Windows (host.h: make_private_dir), the
// Windows side of review finding F3: an existing folder was accepted whatever its DACL, so a
// folder others may add files to or delete children in let them replace the resolved files.
// Now an existing folder must not be a reparse point and must pass the folder ACL rules
// (acl_rules.h, ObjectKind::output_folder): owned by the user, SYSTEM, Administrators (or
// TrustedInstaller), and nobody else may add files, delete children, delete it or change its
// permissions or owner.
//
// Wine (on this file system) keeps no security descriptor: it derives one from the Unix mode,
// so an entry for Everyone becomes the "other" mode bits and comes back with Wine's mask. The
// end-to-end cases below build their expected text from what was stored; the rules themselves
// are tested on descriptors parsed from SDDL, including what Wine cannot store (a foreign
// owner, a NULL DACL).
#include "stsecrets/host.h"

#include "windows/acl_rules.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"
#include "win_test_support.h"

#include <catch2/catch.hpp>
#include <windows.h>
#include <winioctl.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

using namespace sts;
using namespace sts::wintest;

namespace {

constexpr const char* kOwnerOnly = "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)";
constexpr const char* kFix = ", or give --output-dir a folder of your own";

std::vector<std::string> entries_of(const std::string& dir) {
  std::vector<std::string> out;
  WIN32_FIND_DATAW fd;
  const HANDLE h = ::FindFirstFileW(win::to_wide(dir + "\\*").c_str(), &fd);
  if (h == INVALID_HANDLE_VALUE) return out;
  do {
    const std::wstring name = fd.cFileName;
    if (name != L"." && name != L"..") out.push_back(win::to_utf8(name));
  } while (::FindNextFileW(h, &fd));
  ::FindClose(h);
  return out;
}

// What `resolve --output-dir DIR` does with the folder: make it (or accept it), then write.
Status write_into(const std::string& dir, const std::string& name, std::string_view bytes) {
  if (auto st = make_private_dir(dir); !st) return st;
  return write_private_file(dir + "\\" + name, bytes, OutputFolder::private_only);
}

// The first allow entry for `sid` as stored, so the expected words follow what Wine kept.
std::uint32_t stored_mask(const std::string& path, std::string_view sid) {
  auto info = win::parse_sddl(win::to_wide(get_sddl(path)));
  REQUIRE(info);
  for (const auto& ace : info->aces) {
    if (ace.allow() && !ace.inherit_only() && ace.sid == sid) return ace.mask;
  }
  return 0;
}

// A private base folder (the temp folder's own DACL is Wine's, from the Unix mode).
struct Base {
  TempDir tmp;
  Base() { REQUIRE(set_sddl(tmp.path(), kOwnerOnly)); }
  std::string operator/(std::string_view name) const { return tmp / name; }
};

}  // namespace

TEST_CASE("output dir: an existing folder Everyone may add files to is refused, nothing is written", "[output-dir]") {
  Base base;
  const std::string dir = base / "out";
  make_dir(dir);
  REQUIRE(set_sddl(dir, "D:P(A;OICI;FA;;;{U})(A;OICI;FW;;;WD)"));
  INFO("stored as " << get_sddl(dir));
  const std::uint32_t everyone = stored_mask(dir, "S-1-1-0");
  REQUIRE((everyone & FILE_ADD_FILE) != 0);   // the attack needs Wine to have kept "add file"
  const std::string words = win::rights_in_words(everyone & win::write_class_rights(win::ObjectKind::folder), true);
  CHECK_THAT(words, Catch::Contains("add file"));

  auto st = write_into(dir, "pg.yaml", "password: x\n");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::usage);
  CHECK(st.error().message ==
        "--output-dir " + dir + " lets Everyone (S-1-1-0) " + words +
            ", so they could replace the resolved files in it: run icacls \"" + dir +
            "\" /remove:g *S-1-1-0 && icacls \"" + dir + "\" /grant *S-1-1-0:(RX)" + kFix);
  CHECK(st.error().message.find('\n') == std::string::npos);
  CHECK(entries_of(dir).empty());
}

TEST_CASE("output dir: a folder opened to Everyone after its check is judged again before each write",
          "[output-dir]") {
  Base base;
  const std::string dir = base / "out";
  REQUIRE(make_private_dir(dir));
  REQUIRE(set_sddl(dir, "D:P(A;OICI;FA;;;{U})(A;OICI;FW;;;WD)"));
  const std::uint32_t everyone = stored_mask(dir, "S-1-1-0");
  REQUIRE((everyone & FILE_ADD_FILE) != 0);
  auto st = write_private_file(dir + "\\pg.yaml", "password: x\n", OutputFolder::private_only);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::usage);
  CHECK_THAT(st.error().message, Catch::StartsWith("--output-dir " + dir + " lets Everyone (S-1-1-0) "));
  CHECK(entries_of(dir).empty());
}

TEST_CASE("output dir: an existing owner-only folder is accepted and written", "[output-dir]") {
  Base base;
  const std::string dir = base / "out";
  make_dir(dir);
  REQUIRE(set_sddl(dir, kOwnerOnly));
  INFO("stored as " << get_sddl(dir));
  REQUIRE(write_into(dir, "pg.yaml", "password: x\n"));
  CHECK(entries_of(dir) == std::vector<std::string>{"pg.yaml"});
}

TEST_CASE("output dir: others may list and read an existing folder, not change it", "[output-dir]") {
  Base base;
  const std::string dir = base / "out";
  make_dir(dir);
  REQUIRE(set_sddl(dir, "D:P(A;OICI;FA;;;{U})(A;OICI;0x1200a9;;;WD)"));
  INFO("stored as " << get_sddl(dir));
  CHECK(make_private_dir(dir));
}

TEST_CASE("output dir: a missing folder is created owner-only, and then passes its own check", "[output-dir]") {
  Base base;
  const std::string dir = base / "new-✓";
  REQUIRE(make_private_dir(dir));
  const std::string user = win::current_user_sid();
  auto info = win::parse_sddl(win::to_wide(get_sddl(dir)));
  REQUIRE(info);
  INFO("stored as " << get_sddl(dir));
  CHECK_FALSE(info->null_dacl);
  bool user_entry = false;
  for (const auto& ace : info->aces) {
    // The user's entry, and the SYSTEM entry Wine adds to every descriptor it derives.
    CHECK((ace.sid == user || ace.sid == std::string(win::kSidSystem)));
    user_entry = user_entry || ace.sid == user;
  }
  CHECK(user_entry);
  CHECK(make_private_dir(dir));   // created by us: accepted on the next run
}

// ---- a reparse point at DIR -------------------------------------------------------------------

namespace {

// DIR as a junction (a mount-point reparse point) to `target`, else as a directory symbolic link.
// False when this system makes neither (Wine 8 refuses FSCTL_SET_REPARSE_POINT with
// ERROR_NOT_SUPPORTED, and its CreateSymbolicLinkW reports success but makes no link).
bool make_folder_link(const std::string& link, const std::string& target) {
  make_dir(link);
  const std::wstring substitute = L"\\??\\" + win::to_wide(target);
  const std::wstring print = win::to_wide(target);
  const std::size_t names = (substitute.size() + 1 + print.size() + 1) * sizeof(wchar_t);
  std::vector<unsigned char> buffer(8 + 8 + names, 0);
  auto put16 = [&](std::size_t at, std::size_t v) {
    const auto w = static_cast<WORD>(v);
    std::memcpy(buffer.data() + at, &w, sizeof w);
  };
  const DWORD tag = IO_REPARSE_TAG_MOUNT_POINT;
  std::memcpy(buffer.data(), &tag, sizeof tag);
  put16(4, 8 + names);                                  // ReparseDataLength
  put16(8, 0);                                          // SubstituteNameOffset
  put16(10, substitute.size() * sizeof(wchar_t));       // SubstituteNameLength
  put16(12, (substitute.size() + 1) * sizeof(wchar_t)); // PrintNameOffset
  put16(14, print.size() * sizeof(wchar_t));            // PrintNameLength
  std::memcpy(buffer.data() + 16, substitute.c_str(), substitute.size() * sizeof(wchar_t));
  std::memcpy(buffer.data() + 16 + (substitute.size() + 1) * sizeof(wchar_t), print.c_str(),
              print.size() * sizeof(wchar_t));
  const HANDLE h = ::CreateFileW(win::to_wide(link).c_str(), GENERIC_WRITE, 0, nullptr, OPEN_EXISTING,
                                 FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, nullptr);
  bool made = false;
  if (h != INVALID_HANDLE_VALUE) {
    DWORD n = 0;
    made = ::DeviceIoControl(h, FSCTL_SET_REPARSE_POINT, buffer.data(), static_cast<DWORD>(buffer.size()), nullptr, 0,
                             &n, nullptr) != FALSE;
    ::CloseHandle(h);
  }
  if (!made) {
    ::RemoveDirectoryW(win::to_wide(link).c_str());
    made = ::CreateSymbolicLinkW(win::to_wide(link).c_str(), win::to_wide(target).c_str(),
                                 SYMBOLIC_LINK_FLAG_DIRECTORY | SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE) != FALSE;
  }
  // Wine 8's CreateSymbolicLinkW succeeds without making anything: ask what is there.
  const DWORD attrs = ::GetFileAttributesW(win::to_wide(link).c_str());
  return made && attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
}

}  // namespace

TEST_CASE("output dir: a junction or symbolic link at DIR is refused, even to an owner-only folder",
          "[output-dir][reparse]") {
  Base base;
  const std::string target = base / "target";
  make_dir(target);
  REQUIRE(set_sddl(target, kOwnerOnly));
  const std::string link = base / "out";
  if (!make_folder_link(link, target)) {
    WARN("this system makes no junction or directory symbolic link (Wine 8): the reparse-point rule is untested here");
    REQUIRE(make_private_dir(link));   // nothing was made there: the folder is created owner-only
    return;
  }
  auto st = write_into(link, "pg.yaml", "password: x\n");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::usage);
  CHECK(st.error().message == "--output-dir " + link +
                                  " is a symbolic link, junction or another reparse point, which could lead the resolved "
                                  "files elsewhere; name the folder it leads to" + kFix);
  CHECK(entries_of(target).empty());
}

// ---- the rules on descriptors (what Wine cannot store on a folder) ---------------------------

namespace {

std::optional<std::string> output_failure(const std::string& sddl, std::string_view path = "D:\\out") {
  auto info = win::parse_sddl(win::to_wide(expand_user(sddl)));
  REQUIRE(info);
  return win::evaluate_acl(*info, win::current_user_sid(), win::ObjectKind::output_folder, path,
                           "the resolved files in it")
      .failure;
}

}  // namespace

TEST_CASE("output dir rules: owner, NULL DACL, deny entries, write-class rights, system folders", "[output-dir][acl]") {
  const std::string user = win::current_user_sid();
  const std::string user_name = win::account_text(user);
  // Accepted: the trusted accounts, others listing, adding subfolders (which replace no file).
  for (const char* sddl : {"O:{U}D:P(A;OICI;FA;;;{U})", "O:SYD:P(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)(A;OICI;FA;;;{U})",
                           "O:BAD:P(A;OICI;FA;;;{U})(A;OICI;0x1200a9;;;WD)", "O:{U}D:P(A;OICI;FA;;;{U})(A;;0x4;;;AU)",
                           "O:{U}D:P(A;OICI;FA;;;{U})(A;IO;FA;;;WD)"}) {
    INFO(sddl);
    CHECK(output_failure(sddl) == std::nullopt);
  }
  // A foreign owner (Wine cannot store one on a folder).
  CHECK(output_failure("O:S-1-5-21-1-2-3-1001D:P(A;OICI;FA;;;{U})") ==
        "--output-dir D:\\out is owned by S-1-5-21-1-2-3-1001, not by SYSTEM, Administrators or " + user_name +
            ": run icacls \"D:\\out\" /setowner *" + user + kFix);
  // A NULL DACL: everyone has full control (SDDL cannot say it; the value is built as such).
  win::SecurityInfo null_dacl;
  null_dacl.owner_sid = user;
  null_dacl.null_dacl = true;
  CHECK(win::evaluate_acl(null_dacl, user, win::ObjectKind::output_folder, "D:\\out", "the resolved files in it")
            .failure ==
        "--output-dir D:\\out has a NULL DACL, so everyone has full control: run icacls \"D:\\out\" /inheritance:r "
        "/grant:r *S-1-5-18:(F) *S-1-5-32-544:(F) *" + user + ":(F)" + kFix);
  // Each write-class right alone, for a stranger and for Users.
  const struct { const char* mask; const char* words; } rights[] = {
      {"0x2", "add file"}, {"0x40", "delete child"}, {"0x10000", "delete"},
      {"WD", "change permissions (WRITE_DAC)"}, {"WO", "take ownership (WRITE_OWNER)"},
      {"GW", "generic write"}, {"GA", "generic all (full control)"}};
  for (const auto& r : rights) {
    for (const char* who : {"BU", "S-1-5-21-1-2-3-1001"}) {
      const std::string sddl = std::string("O:{U}D:P(A;OICI;FA;;;{U})(A;;") + r.mask + ";;;" + who + ")";
      INFO(sddl);
      const auto failure = output_failure(sddl);
      REQUIRE(failure);
      CHECK_THAT(*failure, Catch::StartsWith("--output-dir D:\\out lets "));
      CHECK_THAT(*failure, Catch::Contains(std::string(" ") + r.words + ", so they could replace the resolved files in "
                                                                          "it: run icacls \"D:\\out\" /remove:g *"));
      CHECK_THAT(*failure, Catch::EndsWith(kFix));
    }
  }
  // An inherited entry: named as inherited, /inheritance:d first.
  const auto inherited = output_failure("O:{U}D:(A;OICI;FA;;;{U})(A;ID;FA;;;WD)");
  REQUIRE(inherited);
  CHECK_THAT(*inherited, Catch::Contains("lets Everyone (S-1-1-0) add file, delete child, delete, change permissions "
                                         "(WRITE_DAC), take ownership (WRITE_OWNER) (inherited), so they could replace"));
  CHECK_THAT(*inherited, Catch::Contains("icacls \"D:\\out\" /inheritance:d /remove:g *S-1-1-0"));
  // A deny entry for the user.
  const auto deny = output_failure("O:{U}D:P(D;;0x2;;;{U})(A;OICI;FA;;;{U})");
  REQUIRE(deny);
  CHECK_THAT(*deny, Catch::Contains("has a deny entry for " + user_name));
  CHECK_THAT(*deny, Catch::EndsWith("/remove:d *" + user + kFix));
  // A system folder gets no icacls fix that would change it for every program.
  CHECK(output_failure("O:SYD:(A;OICI;FA;;;SY)(A;;0x2;;;BU)", "C:\\Users") ==
        "--output-dir C:\\Users lets BUILTIN\\Users (S-1-5-32-545) add file, so they could replace the resolved files "
        "in it: give --output-dir a folder of your own instead of changing C:\\Users, a system folder");
}

TEST_CASE("output dir rules: the existing kinds keep their words", "[output-dir][acl]") {
  auto info = win::parse_sddl(win::to_wide(expand_user("O:{U}D:P(A;OICI;FA;;;{U})(A;;0x2;;;WD)")));
  REQUIRE(info);
  const auto folder = win::evaluate_acl(*info, win::current_user_sid(), win::ObjectKind::folder, "D:\\sts");
  REQUIRE(folder.failure);
  CHECK(*folder.failure == "folder D:\\sts lets Everyone (S-1-1-0) add file, so they could replace the backend: run "
                           "icacls \"D:\\sts\" /remove:g *S-1-1-0 && icacls \"D:\\sts\" /grant *S-1-1-0:(RX)");
  CHECK(win::write_class_rights(win::ObjectKind::output_folder) == win::write_class_rights(win::ObjectKind::folder));
}
