// Locked memory (VirtualLock) under the secure arena, and the files the library writes
// (file_io.h on Windows): output files (write_file_atomic) and the audit log (append_audit_line).
// Secret files read beneath a root: test_read_beneath.cpp.
#include "common/file_io.h"
#include "common/memory_lock.h"
#include "windows/audit_folder_rules.h"
#include "stsecrets/secure_buffer.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"
#include "win_test_support.h"

#include <catch2/catch.hpp>
#include <windows.h>

#include <algorithm>
#include <fstream>
#include <vector>

using namespace sts;
using namespace sts::wintest;

TEST_CASE("map_locked gives zeroed, locked pages", "[memory]") {
  auto size = platform::page_size() * 4;
  auto r = platform::map_locked(size);
  REQUIRE(r.base != nullptr);
  CHECK(r.size == size);
  CHECK(r.locked);
  auto* p = static_cast<unsigned char*>(r.base);
  for (std::size_t i = 0; i < size; ++i) REQUIRE(p[i] == 0);
  p[10] = 42;
  secure_zero(p, size);
  CHECK(p[10] == 0);
  platform::unmap_locked(r);
}

TEST_CASE("the arena keeps secrets in locked memory", "[memory]") {
  SecureBuffer b("a secret value");
  auto stats = arena_stats();
  CHECK(stats.locked_bytes > 0);
  CHECK_FALSE(stats.degraded);
  CHECK(b.view() == "a secret value");
}

namespace {
std::string read_all(const std::string& path) {
  HANDLE h = ::CreateFileW(win::to_wide(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                           OPEN_EXISTING, 0, nullptr);
  if (h == INVALID_HANDLE_VALUE) return "<cannot open>";
  std::string out(1 << 16, '\0');
  DWORD n = 0;
  ::ReadFile(h, out.data(), static_cast<DWORD>(out.size()), &n, nullptr);
  ::CloseHandle(h);
  out.resize(n);
  return out;
}

bool exists(const std::string& path) { return ::GetFileAttributesW(win::to_wide(path).c_str()) != INVALID_FILE_ATTRIBUTES; }

// Every allow entry belongs to the current user (Wine adds SYSTEM to what it stores).
void check_owner_only(const std::string& path) {
  const std::string sddl = get_sddl(path);
  INFO(path << ": " << sddl);
  auto info = win::parse_sddl(win::to_wide(sddl));
  REQUIRE(info.has_value());
  bool user_entry = false;
  for (const auto& ace : info->aces) {
    if (!ace.allow()) continue;
    user_entry = user_entry || ace.sid == win::current_user_sid();
    CHECK((ace.sid == win::current_user_sid() || ace.sid == win::kSidSystem));
  }
  CHECK(user_entry);
}

std::size_t count_lines(const std::string& text) {
  return static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
}

// A symbolic link, or false when this Windows/Wine will not create one: no privilege, or Wine
// 8, whose CreateSymbolicLinkW returns TRUE and creates nothing.
bool make_symlink(const std::string& link, const std::string& target, bool folder) {
  const DWORD flags = (folder ? SYMBOLIC_LINK_FLAG_DIRECTORY : 0) | SYMBOLIC_LINK_FLAG_ALLOW_UNPRIVILEGED_CREATE;
  if (!::CreateSymbolicLinkW(win::to_wide(link).c_str(), win::to_wide(target).c_str(), flags)) return false;
  const DWORD attrs = ::GetFileAttributesW(win::to_wide(link).c_str());
  return attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
}
}  // namespace

// ---- the audit log --------------------------------------------------------------------------

TEST_CASE("audit: the log is created owner-only and appended to", "[files][audit]") {
  TempDir tmp;
  std::string p = tmp / "audit.log";
  REQUIRE(platform::append_audit_line(p, "one\n", 0));
  REQUIRE(platform::append_audit_line(p, "two\n", 0));
  CHECK(read_all(p) == "one\ntwo\n");
  check_owner_only(p);
}

TEST_CASE("audit: an existing log that others may use is refused with the icacls fix", "[files][audit]") {
  TempDir tmp;
  int n = 0;
  // Everyone may read; Everyone may append (forge records). (Wine stores neither a NULL DACL
  // nor entries for BUILTIN\Users set this way, so those cases are not tested here.)
  for (const char* sddl : {"D:P(A;;FA;;;{U})(A;;FR;;;WD)", "D:P(A;;FA;;;{U})(A;;0x4;;;WD)"}) {
    const std::string p = tmp / ("audit-" + std::to_string(n++) + ".log");
    write_file(p, "old\n");
    REQUIRE(set_sddl(p, sddl));
    INFO(sddl << " stored as " << get_sddl(p));
    auto st = platform::append_audit_line(p, "new\n", 0);
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Code::config_insecure);
    CHECK_THAT(st.error().message, Catch::StartsWith("the audit log " + p + " gives rights to "));
    CHECK_THAT(st.error().message, Catch::Contains("; run icacls \"" + p + "\" /inheritance:r /grant:r *"));
    REQUIRE(set_sddl(p, "D:P(A;;FA;;;{U})"));
    CHECK(read_all(p) == "old\n");
  }
}

TEST_CASE("audit: a folder, a device or a second hard link at the path is refused", "[files][audit]") {
  TempDir tmp;
  const std::string folder = tmp / "audit.log";
  make_dir(folder);
  auto st = platform::append_audit_line(folder, "x\n", 0);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::config_insecure);

  for (const std::string& device : {std::string("NUL"), tmp / "CON.log", std::string("\\\\.\\pipe\\sts-audit")}) {
    INFO(device);
    auto dev = platform::append_audit_line(device, "x\n", 0);
    REQUIRE_FALSE(dev);
    CHECK(dev.error().code == Code::config_insecure);
    CHECK_THAT(dev.error().message, Catch::Contains("names a device or pipe"));
  }

  const std::string linked = tmp / "linked.log";
  REQUIRE(platform::append_audit_line(linked, "one\n", 0));
  if (::CreateHardLinkW(win::to_wide(tmp / "other-name.log").c_str(), win::to_wide(linked).c_str(), nullptr)) {
    auto two = platform::append_audit_line(linked, "two\n", 0);
    REQUIRE_FALSE(two);
    CHECK(two.error().code == Code::config_insecure);
    CHECK_THAT(two.error().message, Catch::Contains("has 2 hard links"));
  } else {
    WARN("CreateHardLinkW failed here (" << win::system_message(::GetLastError()) << "): the link rule is not tested");
  }
}

TEST_CASE("audit: a folder that lets others delete children is refused", "[files][audit]") {
  TempDir tmp;
  const std::string dir = tmp / "logs";
  make_dir(dir);
  REQUIRE(set_sddl(dir, "D:P(A;OICI;FA;;;{U})(A;;0x1201ff;;;WD)"));  // Everyone: read, write, delete child
  auto st = platform::append_audit_line(dir + "\\audit.log", "x\n", 0);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::config_insecure);
  CHECK_THAT(st.error().message, Catch::StartsWith("the folder " + dir + " of the audit log lets "));
  CHECK_THAT(st.error().message, Catch::Contains("/remove:g *S-1-1-0"));
  REQUIRE(set_sddl(dir, "D:P(A;OICI;FA;;;{U})(A;;FR;;;WD)"));  // Everyone may read the folder: fine
  REQUIRE(platform::append_audit_line(dir + "\\audit.log", "x\n", 0));
}

// An owner may always change a folder's permissions: another user who created the log's folder
// (C:\ProgramData lets Users add subfolders) with a DACL naming only the victim, SYSTEM and
// Administrators could later grant themselves delete child and rename the records away. Wine
// cannot store a foreign owner on a folder (it reports the Unix owner), so the rule is tested on
// descriptors built from SDDL, as the acl_rules tests do.
TEST_CASE("audit: the log's folder owned by another user is refused, even with an owner-only DACL", "[files][audit]") {
  const std::string dir = "C:\\ProgramData\\stsecrets";
  const std::string user = win::current_user_sid();
  const std::string dacl = "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)";
  auto descriptor = [&](const std::string& owner) {
    return win::parse_sddl(win::to_wide(expand_user("O:" + owner + dacl))).value();
  };
  auto st = platform::audit_folder_verdict(descriptor("S-1-5-21-1-2-3-1001"), dir);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::config_insecure);
  CHECK(st.error().message == "the folder " + dir + " of the audit log is owned by " +
                                  win::account_text("S-1-5-21-1-2-3-1001") +
                                  ", not by SYSTEM, Administrators, TrustedInstaller or " + win::account_text(user) +
                                  ", so its owner can rename the log away; run icacls \"" + dir + "\" /setowner *" + user +
                                  ", or put the log in a folder of its own");
  for (const std::string& owner : {std::string("{U}"), std::string("SY"), std::string("BA"),
                                  std::string(win::kSidTrustedInstaller)}) {
    INFO("owner " << owner);
    CHECK(platform::audit_folder_verdict(descriptor(owner), dir));
  }
}

// Whoever may rename the log's folder (delete child on the folder above it) can move it aside with
// the records and put a folder of their own in its place, choosing where the next run writes.
// Wine without user xattrs keeps a DACL only as Unix mode bits: Everyone's "delete child" alone
// is dropped, and any write right comes back as o+w (write, delete child). So the refused case
// grants Everyone read, write and delete child (as the log-folder test above), and the
// add-only case is asserted only where the descriptor is stored as given.
namespace {
std::uint32_t everyone_mask(const std::string& path) {
  auto info = win::parse_sddl(win::to_wide(get_sddl(path)));
  if (!info) return 0;
  for (const auto& ace : info->aces) {
    if (ace.allow() && ace.sid == "S-1-1-0") return ace.mask;
  }
  return 0;
}
}  // namespace

TEST_CASE("audit: a folder above the log's folder that lets others delete children is refused, not only the log's own",
          "[files][audit]") {
  TempDir tmp;
  const std::string a = tmp / "a";
  const std::string b = a + "\\b";
  const std::string p = b + "\\audit.log";
  make_dir(a);
  make_dir(b);
  REQUIRE(set_sddl(b, "D:P(A;OICI;FA;;;{U})"));
  REQUIRE(set_sddl(a, "D:P(A;OICI;FA;;;{U})(A;;0x1201ff;;;WD)"));  // Everyone: read, write, delete child
  INFO(a << " stored as " << get_sddl(a));
  auto st = platform::append_audit_line(p, "x\n", 0);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::config_insecure);
  const std::string everyone = win::account_text("S-1-1-0");
  CHECK_THAT(st.error().message, Catch::StartsWith("folder " + a + " lets " + everyone + " "));
  CHECK_THAT(st.error().message, Catch::Contains("delete child"));
  CHECK_THAT(st.error().message,
             Catch::EndsWith(", so they could replace the audit log: run icacls \"" + a + "\" /remove:g *S-1-1-0 && icacls \"" +
                             a + "\" /grant *S-1-1-0:(RX)"));
  CHECK_FALSE(exists(p));

  // Everyone may read and list `a`: accepted.
  REQUIRE(set_sddl(a, "D:P(A;OICI;FA;;;{U})(A;;FR;;;WD)"));
  REQUIRE(platform::append_audit_line(p, "x\n", 0));
  CHECK(read_all(p) == "x\n");

  // Adding files or subfolders to `a` replaces nothing: accepted where the DACL is stored as given.
  REQUIRE(set_sddl(a, "D:P(A;OICI;FA;;;{U})(A;;0x6;;;WD)"));  // Everyone: add file, add subfolder
  INFO(a << " stored as " << get_sddl(a));
  if ((everyone_mask(a) & ~static_cast<std::uint32_t>(0x6 | SYNCHRONIZE)) == 0 && everyone_mask(a) != 0) {
    REQUIRE(platform::append_audit_line(p, "y\n", 0));
    CHECK(read_all(p) == "x\ny\n");
  } else {
    WARN("Everyone's add file, add subfolder was stored as " << get_sddl(a) << ": the add-only case is not tested here");
  }
}

TEST_CASE("audit: past the maximum size the log rotates to FILE.1, one generation", "[files][audit]") {
  TempDir tmp;
  const std::string p = tmp / "audit.log";
  const std::string line = "0123456789\n";
  for (int i = 0; i < 3; ++i) REQUIRE(platform::append_audit_line(p, line, 33));
  CHECK_FALSE(exists(p + ".1"));
  REQUIRE(platform::append_audit_line(p, line, 33));
  CHECK(count_lines(read_all(p + ".1")) == 3);
  CHECK(count_lines(read_all(p)) == 1);
  check_owner_only(p + ".1");
  check_owner_only(p);
  for (int i = 0; i < 3; ++i) REQUIRE(platform::append_audit_line(p, line, 33));
  CHECK(count_lines(read_all(p + ".1")) == 3);
  CHECK(count_lines(read_all(p)) == 1);
}

TEST_CASE("audit: a missing folder is io_failed with the reason", "[files][audit]") {
  TempDir tmp;
  const std::string p = tmp / "no-such-dir\\audit.log";
  auto st = platform::append_audit_line(p, "x\n", 0);
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::io_failed);
  CHECK_THAT(st.error().message, Catch::StartsWith("cannot open the folder of the audit log " + p + ": "));
}

// ---- output files ------------------------------------------------------------------------------

TEST_CASE("output file: replaced through an owner-only temporary, nothing left behind", "[files][output]") {
  TempDir tmp;
  std::string p = tmp / "out.yaml";
  REQUIRE(platform::write_file_atomic(p, "first"));
  REQUIRE(platform::write_file_atomic(p, "second"));
  CHECK(read_all(p) == "second");
  check_owner_only(p);
  WIN32_FIND_DATAW fd;
  HANDLE find = ::FindFirstFileW(win::to_wide(tmp / "*").c_str(), &fd);
  REQUIRE(find != INVALID_HANDLE_VALUE);
  std::vector<std::string> names;
  do {
    const std::string name = win::to_utf8(fd.cFileName);
    if (name != "." && name != "..") names.push_back(name);
  } while (::FindNextFileW(find, &fd));
  ::FindClose(find);
  CHECK(names == std::vector<std::string>{"out.yaml"});
}

TEST_CASE("output file: a folder, a device or a link at the destination is refused", "[files][output]") {
  TempDir tmp;
  make_dir(tmp / "folder");
  for (const std::string& dest : {tmp / "folder", std::string("NUL"), tmp / "CON", tmp / "nul.txt"}) {
    INFO(dest);
    auto st = platform::write_file_atomic(dest, "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Code::usage);
    CHECK_THAT(st.error().message, Catch::StartsWith("refusing to write " + dest + ": it "));
  }
  write_file(tmp / "target", "keep");
  if (make_symlink(tmp / "link", tmp / "target", false)) {
    auto st = platform::write_file_atomic(tmp / "link", "data");
    REQUIRE_FALSE(st);
    CHECK(st.error().code == Code::usage);
    CHECK_THAT(st.error().message, Catch::Contains("symbolic link or another reparse point"));
    CHECK(read_all(tmp / "target") == "keep");
  } else {
    WARN("no symbolic link could be made here (Wine's CreateSymbolicLinkW creates none): the link case is not tested");
  }
}

TEST_CASE("output file: a missing folder is io_failed with the reason", "[files][output]") {
  TempDir tmp;
  const std::string p = tmp / "nope\\out.yaml";
  auto st = platform::write_file_atomic(p, "data");
  REQUIRE_FALSE(st);
  CHECK(st.error().code == Code::io_failed);
  CHECK_THAT(st.error().message, Catch::Contains(p));
}
