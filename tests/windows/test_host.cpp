// stsecrets/host.h on Windows and the pieces under it, in process (test_cli runs them through
// stsecrets.exe): the UTF-8 command line, hardening, standard streams as bytes, owner-only
// attributes (as a descriptor: Wine derives file DACLs from Unix modes), folders, file identity,
// the default config, the absolute-path and environment-name rules, console pieces.
#include "stsecrets/host.h"

#include "common/platform_names.h"
#include "windows/console_text.h"
#include "windows/owner_only.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"
#include "win_test_support.h"

#include <catch2/catch.hpp>
#include <windows.h>

#include <string>

using namespace sts;
using namespace sts::wintest;

namespace {

std::string read_all(const std::string& path) {
  const HANDLE h = ::CreateFileW(win::to_wide(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                                 OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return {};
  std::string out;
  char buf[4096];
  DWORD n = 0;
  while (::ReadFile(h, buf, sizeof buf, &n, nullptr) && n > 0) out.append(buf, n);
  ::CloseHandle(h);
  return out;
}

// Points a standard handle at a file for the lifetime of the object.
class Redirect {
 public:
  Redirect(DWORD which, const std::string& path, bool write) : which_(which), saved_(::GetStdHandle(which)) {
    file_ = ::CreateFileW(win::to_wide(path).c_str(), write ? GENERIC_WRITE : GENERIC_READ, FILE_SHARE_READ, nullptr,
                          write ? CREATE_ALWAYS : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
    REQUIRE(file_ != INVALID_HANDLE_VALUE);
    ::SetStdHandle(which_, file_);
  }
  ~Redirect() {
    ::SetStdHandle(which_, saved_);
    ::CloseHandle(file_);
  }
  Redirect(const Redirect&) = delete;
  Redirect& operator=(const Redirect&) = delete;

 private:
  DWORD which_;
  HANDLE saved_;
  HANDLE file_ = INVALID_HANDLE_VALUE;
};

}  // namespace

TEST_CASE("command_line: the wide command line as UTF-8, argv[0] first", "[host]") {
  const auto line = command_line(0, nullptr);   // Windows reads GetCommandLineW, not argv
  REQUIRE_FALSE(line.empty());
  CHECK_THAT(line.front(), Catch::EndsWith("windows_host.exe"));
}

TEST_CASE("harden_process: no error dialogs, DLLs from System32 only", "[host]") {
  REQUIRE(harden_process());
  CHECK((::GetErrorMode() & SEM_NOGPFAULTERRORBOX) != 0);
  CHECK((::GetErrorMode() & SEM_FAILCRITICALERRORS) != 0);
}

TEST_CASE("write_stdout / read_stdin: bytes as they are, UTF-8 and \\n kept", "[host][streams]") {
  TempDir tmp;
  const std::string text = "données: \"✓\"\nline two\n";
  {
    Redirect out(STD_OUTPUT_HANDLE, tmp / "out", true);
    REQUIRE(write_stdout(text));
  }
  CHECK(read_all(tmp / "out") == text);
  write_file(tmp / "in", text);
  {
    Redirect in(STD_INPUT_HANDLE, tmp / "in", false);
    auto got = read_stdin(1024);
    REQUIRE(got);
    CHECK(*got == text);
  }
  {
    Redirect in(STD_INPUT_HANDLE, tmp / "in", false);
    auto capped = read_stdin(4);
    REQUIRE_FALSE(capped);
    CHECK(capped.error().code == Code::request_invalid);
    CHECK_THAT(capped.error().message, Catch::Contains("larger than 4 bytes"));
  }
}

TEST_CASE("owner-only attributes: a protected DACL with one full-control entry for the user", "[host][dacl]") {
  const std::string user = win::current_user_sid();
  REQUIRE_FALSE(user.empty());
  for (const auto inherit : {win::OwnerOnlyAttributes::Inherit::none, win::OwnerOnlyAttributes::Inherit::to_children}) {
    win::OwnerOnlyAttributes attrs(inherit);
    REQUIRE(attrs.ok());
    SECURITY_DESCRIPTOR_CONTROL control = 0;
    DWORD revision = 0;
    REQUIRE(::GetSecurityDescriptorControl(attrs.get()->lpSecurityDescriptor, &control, &revision));
    CHECK((control & SE_DACL_PROTECTED) != 0);   // nothing inherited from the folder above
    CHECK(attrs.get()->bInheritHandle == FALSE);
    const win::SecurityInfo info = win::from_descriptor(attrs.get()->lpSecurityDescriptor);
    CHECK_FALSE(info.null_dacl);
    REQUIRE(info.aces.size() == 1);
    CHECK(info.aces[0].allow());
    CHECK(info.aces[0].sid == user);
    CHECK(info.aces[0].mask == FILE_ALL_ACCESS);
    const bool children = (info.aces[0].flags & (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE)) ==
                          (OBJECT_INHERIT_ACE | CONTAINER_INHERIT_ACE);
    CHECK(children == (inherit == win::OwnerOnlyAttributes::Inherit::to_children));
  }
}

TEST_CASE("make_private_dir: creates a folder, accepts one, refuses a file", "[host][files]") {
  TempDir tmp;
  const std::string dir = tmp / "out-✓";
  REQUIRE(make_private_dir(dir));
  CHECK((::GetFileAttributesW(win::to_wide(dir).c_str()) & FILE_ATTRIBUTE_DIRECTORY) != 0);
  CHECK(make_private_dir(dir));   // exists: fine
  write_file(tmp / "file", "x");
  auto file = make_private_dir(tmp / "file");
  REQUIRE_FALSE(file);
  CHECK(file.error().code == Code::usage);
  CHECK_THAT(file.error().message, Catch::Contains("is not a directory; give --output-dir a folder"));
  auto deep = make_private_dir(tmp / "missing\\below");
  REQUIRE_FALSE(deep);
  CHECK(deep.error().code == Code::io_failed);
  CHECK_THAT(deep.error().message, Catch::Contains("cannot create the folder"));
}

TEST_CASE("file_identity: one file under two spellings, two files apart, none for a missing one", "[host][files]") {
  TempDir tmp;
  write_file(tmp / "a.yaml", "a");
  write_file(tmp / "b.yaml", "b");
  std::string other_spelling = tmp / "A.YAML";
  for (auto& c : other_spelling) c = c == '\\' ? '/' : c;
  const auto a = file_identity(tmp / "a.yaml");
  REQUIRE(a);
  CHECK(file_identity(other_spelling) == a);
  CHECK(file_identity(tmp / "b.yaml") != a);
  CHECK_FALSE(file_identity(tmp / "missing.yaml"));
  CHECK(file_identity(tmp.path()));   // a folder has one too
}

TEST_CASE("default_config_path: %STS_CONFIG% in any case, else %ProgramData%", "[host][config]") {
  CHECK(default_config_path({{"sts_config", "D:\\agent\\stackstate.yaml"}}) == "D:\\agent\\stackstate.yaml");
  CHECK(default_config_path({{"STS_CONFIG", ""}, {"PROGRAMDATA", "E:\\Data"}}) == "E:\\Data\\StackState\\stackstate.yaml");
  CHECK(default_config_path({}) == "C:\\ProgramData\\StackState\\stackstate.yaml");
}

TEST_CASE("path_from_utf8 / path_to_utf8: Unicode names survive the round trip", "[host][paths]") {
  const std::string name = "C:\\Données\\sécrets-✓\\pöstgres.yaml";
  const auto p = path_from_utf8(name);
  CHECK(p.native() == win::to_wide(name));
  CHECK(path_to_utf8(p) == name);
  CHECK(path_to_utf8(p.filename()) == "pöstgres.yaml");
}

TEST_CASE("is_absolute_path: the Windows forms", "[host][paths]") {
  for (const char* yes : {"C:\\x", "z:/x", "C:\\", "\\\\srv\\share", "\\\\srv\\share\\x", "//srv/share/x",
                          "\\\\?\\C:\\x", "\\\\?\\UNC\\srv\\share\\x", "\\\\?\\unc\\srv\\share"}) {
    INFO(yes);
    CHECK(platform::is_absolute_path(yes));
  }
  for (const char* no : {"", "x", "C:", "C:x", "\\x", "/x", "\\\\", "\\\\srv", "\\\\srv\\", "\\\\srv\\\\x",
                         "\\\\.\\pipe\\x", "\\\\.\\C:\\x", "\\\\?\\x", "\\\\?\\C:/x", "//?/C:/x", "1:\\x"}) {
    INFO(no);
    CHECK_FALSE(platform::is_absolute_path(no));
  }
}

TEST_CASE("find_env: Windows names in any case, the exact spelling first", "[host][env]") {
  const Environment env{{"Path", "C:\\bin"}, {"PATH", "C:\\exact"}, {"temp", "C:\\t"}};
  REQUIRE(find_env(env, "PATH") != nullptr);
  CHECK(*find_env(env, "PATH") == "C:\\exact");
  CHECK(*find_env(env, "Path") == "C:\\bin");
  CHECK(*find_env(env, "TEMP") == "C:\\t");
  CHECK(find_env(env, "TMP") == nullptr);
  CHECK(env_name_key("sts_Secret_x") == "STS_SECRET_X");
}

TEST_CASE("console pieces never split a surrogate pair", "[host][console]") {
  std::wstring text(10, L'a');
  text[3] = static_cast<wchar_t>(0xD83D);   // U+1F512 as a pair at 3..4
  text[4] = static_cast<wchar_t>(0xDD12);
  CHECK(win::console_piece_length(text, 4) == 3);    // the high half waits for the next piece
  CHECK(win::console_piece_length(text, 5) == 5);
  CHECK(win::console_piece_length(text, 64) == 10);
  CHECK(win::console_piece_length(std::wstring_view(), 4) == 0);
  CHECK(win::console_piece_length(std::wstring(1, static_cast<wchar_t>(0xD83D)) + L"x", 1) == 1);  // never 0
}
