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
  return write_private_file(dir + "\\" + name, bytes);
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
            ", so they could replace the resolved files in it: run icacls \"" + dir + "\" /remove:g *S-1-1-0 && icacls \"" +
            dir + "\" /grant *S-1-1-0:(RX)" + kFix);
  CHECK(st.error().message.find('\n') == std::string::npos);
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
