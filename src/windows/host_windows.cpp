// stsecrets/host.h on Windows: the UTF-8 command line, process hardening, standard streams
// (a console gets UTF-16 through WriteConsoleW, a pipe or file the bytes), output files and
// folders (owner-only DACLs; an existing --output-dir must pass the folder ACL rules of
// acl_rules.h), file identity, `exec` (sts::run_command: a PATH/PATHEXT search without cmd.exe,
// CreateProcessW in a kill-on-close job, wait, exit code), the default config.
//
// Standard streams are read and written with ReadFile/WriteFile/WriteConsoleW on the handles of
// GetStdHandle, never through the C runtime, so there is no text mode and no "\r\n"
// translation, and no stdio buffer keeps a copy of a secret.
#if !defined(_WIN32)
#error "host_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "stsecrets/host.h"

#include "common/file_io.h"
#include "common/platform_names.h"
#include "common/text.h"
#include "stsecrets/secure_buffer.h"
#include "windows/acl_rules.h"
#include "windows/child_process.h"
#include "windows/console_text.h"
#include "windows/owner_only.h"
#include "windows/scoped_handle.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"

#include <windows.h>
#include <shellapi.h>

#include <algorithm>
#include <array>
#include <cwchar>

namespace sts {
namespace {

using win::ScopedHandle;

constexpr std::string_view kConfigUnderProgramData = "\\StackState\\stackstate.yaml";
constexpr std::string_view kDefaultProgramData = "C:\\ProgramData";
// PATHEXT when the caller has none: cmd.exe's own default list.
constexpr std::string_view kDefaultPathExt = ".COM;.EXE;.BAT;.CMD;.VBS;.VBE;.JS;.JSE;.WSF;.WSH;.MSC";

Error io_error(const std::string& what, DWORD err) {
  return make_error(Code::io_failed, what + ": " + win::system_message(err), static_cast<int>(err));
}

// ---- standard streams --------------------------------------------------------------------------

bool is_console(HANDLE h) {
  DWORD mode = 0;
  return ::GetFileType(h) == FILE_TYPE_CHAR && ::GetConsoleMode(h, &mode) != FALSE;
}

// UTF-8 to a console as UTF-16, in pieces that never split a surrogate pair. The wide copy may
// hold secrets (resolve prints them): it is zeroed before it goes.
Status write_console(HANDLE h, std::string_view bytes, std::string_view what) {
  std::wstring wide = win::to_wide(bytes);
  std::wstring_view rest = wide;
  DWORD err = 0;
  while (!rest.empty() && err == 0) {
    const std::size_t piece = win::console_piece_length(rest);
    DWORD written = 0;
    if (!::WriteConsoleW(h, rest.data(), static_cast<DWORD>(piece), &written, nullptr)) {
      err = ::GetLastError();
    } else {
      rest.remove_prefix(written != 0 ? written : piece);
    }
  }
  if (!wide.empty()) secure_zero(wide.data(), wide.size() * sizeof(wchar_t));
  if (err != 0) return io_error("cannot write to " + std::string(what), err);
  return ok();
}

Status write_std(DWORD which, std::string_view bytes, std::string_view what) {
  const HANDLE h = ::GetStdHandle(which);
  if (!ScopedHandle::is_valid(h)) {
    return make_error(Code::io_failed, "cannot write to " + std::string(what) + ": the process has none (started "
                                       "without a console or redirection); redirect it to a file");
  }
  if (is_console(h)) return write_console(h, bytes, what);
  while (!bytes.empty()) {
    const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(bytes.size(), 1u << 20));
    DWORD n = 0;
    if (!::WriteFile(h, bytes.data(), chunk, &n, nullptr)) return io_error("cannot write to " + std::string(what), ::GetLastError());
    bytes.remove_prefix(n);
  }
  return ok();
}

// ---- exec: finding COMMAND -----------------------------------------------------------------------

std::vector<std::string> split_list(std::string_view list) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= list.size()) {
    const std::size_t end = std::min(list.find(';', start), list.size());
    std::string item(list.substr(start, end - start));
    // Path entries may be quoted ("C:\Program Files\x"); the quotes are not part of the name.
    item.erase(std::remove(item.begin(), item.end(), '"'), item.end());
    if (!item.empty()) out.push_back(std::move(item));
    start = end + 1;
  }
  return out;
}

bool is_file(const std::wstring& path) {
  const DWORD attrs = ::GetFileAttributesW(path.c_str());
  return attrs != INVALID_FILE_ATTRIBUTES && (attrs & FILE_ATTRIBUTE_DIRECTORY) == 0;
}

// ".bat" for "C:\x\run.BAT"; "" without an extension.
std::string extension_of(std::string_view path) {
  const std::size_t name = path.find_last_of("\\/:") == std::string_view::npos ? 0 : path.find_last_of("\\/:") + 1;
  const std::size_t dot = path.rfind('.');
  if (dot == std::string_view::npos || dot < name) return {};
  return ascii_lower(path.substr(dot));
}

// The name as given (when it has an extension), then with each PATHEXT extension, in `folder`
// ("" for a name that is a path itself).
std::optional<std::wstring> find_in(const std::string& folder, const std::string& name,
                                    const std::vector<std::string>& extensions) {
  std::string base = folder;
  if (!base.empty() && base.back() != '\\' && base.back() != '/') base += '\\';
  base += name;
  if (!extension_of(name).empty() && is_file(win::to_wide(base))) return win::to_wide(base);
  for (const std::string& ext : extensions) {
    const std::wstring candidate = win::to_wide(base + ext);
    if (is_file(candidate)) return candidate;
  }
  return std::nullopt;
}

// COMMAND as cmd.exe would find it, except that the current folder is never searched (a folder
// someone else can write would decide what runs; write .\name to mean it).
Result<std::wstring> find_command(const std::string& command, const Environment& caller_env) {
  const std::string shown = quote_text(command, 256);
  const std::string* pathext = find_env(caller_env, "PATHEXT");
  const std::vector<std::string> extensions = split_list(pathext != nullptr ? *pathext : std::string(kDefaultPathExt));
  std::optional<std::wstring> found;
  if (command.find_first_of("\\/:") != std::string::npos) {
    // A path: relative ones to the current folder, as the operator typed it.
    const std::wstring given = win::to_wide(command);
    std::wstring full(32768, L'\0');
    const DWORD n = ::GetFullPathNameW(given.c_str(), static_cast<DWORD>(full.size()), full.data(), nullptr);
    if (n == 0 || n >= full.size()) return io_error("cannot execute " + shown, ::GetLastError());
    full.resize(n);
    found = find_in("", win::to_utf8(full), extensions);
    if (!found) {
      return make_error(Code::usage, "cannot execute " + shown + ": no such file (also tried the PATHEXT extensions); "
                                     "check the path");
    }
  } else {
    const std::string* path = find_env(caller_env, "PATH");
    for (const std::string& folder : split_list(path != nullptr ? *path : std::string())) {
      if ((found = find_in(folder, command, extensions))) break;
    }
    if (!found) {
      return make_error(Code::usage, "cannot execute " + shown + ": no such command (searched Path with the PATHEXT "
                                     "extensions, not the current folder); check its name, or write .\\" + shown +
                                     " for one in the current folder");
    }
  }
  // The name as the folder spells it ("script.cmd", not the "script.CMD" PATHEXT made).
  WIN32_FIND_DATAW data{};
  if (const HANDLE search = ::FindFirstFileW(found->c_str(), &data); search != INVALID_HANDLE_VALUE) {
    ::FindClose(search);
    found->replace(found->find_last_of(L"\\/") + 1, std::wstring::npos, data.cFileName);
  }
  const std::string ext = extension_of(win::to_utf8(*found));
  if (ext == ".bat" || ext == ".cmd") {
    return make_error(Code::usage,
                      "refusing to run " + quote_text(win::to_utf8(*found), 256) +
                          ": Windows runs .bat and .cmd files through cmd.exe, whose argument parsing cannot be made "
                          "safe (CVE-2024-24576); wrap the script in an .exe, or name cmd.exe /c as COMMAND yourself "
                          "if its arguments are fixed");
  }
  return std::move(*found);
}

// ---- exec: the child's environment and standard handles --------------------------------------

// The block CreateProcessW wants: NAME=VALUE entries sorted by name, case-insensitively in
// ordinal (not locale) order, each NUL-terminated, and a final NUL. The "=C:=C:\dir" entries
// (each drive's current folder, which cmd.exe and the runtime read) come along from ours.
std::wstring environment_block(const Environment& env) {
  std::vector<std::wstring> entries;
  if (wchar_t* own = ::GetEnvironmentStringsW(); own != nullptr) {
    for (const wchar_t* p = own; *p != L'\0'; p += std::wcslen(p) + 1) {
      if (p[0] == L'=') entries.emplace_back(p);
    }
    ::FreeEnvironmentStringsW(own);
  }
  for (const auto& [name, value] : env) {
    if (name.empty() || name.find('=') != std::string::npos) continue;  // not expressible
    entries.push_back(win::to_wide(name + "=" + value));
  }
  auto name_of = [](const std::wstring& e) {
    return std::wstring_view(e).substr(0, e[0] == L'=' ? e.find(L'=', 1) : e.find(L'='));
  };
  std::stable_sort(entries.begin(), entries.end(), [&](const std::wstring& a, const std::wstring& b) {
    const std::wstring_view x = name_of(a);
    const std::wstring_view y = name_of(b);
    return ::CompareStringOrdinal(x.data(), static_cast<int>(x.size()), y.data(), static_cast<int>(y.size()), TRUE) ==
           CSTR_LESS_THAN;
  });
  std::wstring block;
  for (auto& e : entries) {
    block += e;
    block += L'\0';
    secure_zero(e.data(), e.size() * sizeof(wchar_t));  // the values COMMAND gets may be secrets
  }
  block += L'\0';
  return block;
}

// Inheritable copies of our standard handles for COMMAND (a handle in the handle list must be
// inheritable; ours usually are not). A stream we do not have stays empty.
struct StdCopies {
  std::array<ScopedHandle, 3> handles;
  StdCopies() {
    const DWORD which[3] = {STD_INPUT_HANDLE, STD_OUTPUT_HANDLE, STD_ERROR_HANDLE};
    for (std::size_t i = 0; i < 3; ++i) {
      const HANDLE h = ::GetStdHandle(which[i]);
      HANDLE copy = nullptr;
      if (ScopedHandle::is_valid(h) &&
          ::DuplicateHandle(::GetCurrentProcess(), h, ::GetCurrentProcess(), &copy, 0, TRUE, DUPLICATE_SAME_ACCESS)) {
        handles[i].reset(copy);
      }
    }
  }
};

const char* stage_text(SpawnStage stage) {
  switch (stage) {
    case SpawnStage::containment: return "cannot put it in a job object";
    case SpawnStage::attributes: return "cannot limit the handles it inherits";
    case SpawnStage::resume: return "cannot start its first thread";
    default: return "";
  }
}

// ---- --output-dir ---------------------------------------------------------------------------

// An existing --output-dir, held open without following a reparse point: a folder (not a link or
// junction, which another user could point elsewhere), whose owner and DACL pass the folder rules
// of acl_rules.h (nobody but the user, SYSTEM and Administrators may add files, delete children,
// or change its permissions or owner), so nobody else can replace the resolved files in it.
Status check_existing_output_dir(HANDLE dir, const std::string& path) {
  BY_HANDLE_FILE_INFORMATION info{};
  if (!::GetFileInformationByHandle(dir, &info)) {
    return io_error("cannot inspect --output-dir " + quote_text(path, 512), ::GetLastError());
  }
  const bool reparse = (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
  const bool folder = (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0;
  const std::vector<CheckRule> kind_rules = {
      {"--output-dir reparse point", !reparse,
       "--output-dir " + path + " is a symbolic link, junction or another reparse point, which could lead the "
       "resolved files elsewhere",
       "name the folder it leads to, or give --output-dir a folder of your own"},
      {"--output-dir folder", folder, quote_text(path, 512) + " is not a directory", "give --output-dir a folder"},
  };
  for (const CheckRule& rule : kind_rules) {
    if (!rule.ok) return make_error(Code::usage, rule.detail + "; " + rule.fix);
  }
  auto security = win::read_security(dir);
  if (!security) {
    return make_error(Code::io_failed, "cannot read the permissions of --output-dir " + path + ": " +
                                           security.error().message + "; give --output-dir a folder of your own",
                      security.error().os_error);
  }
  const win::AclVerdict verdict = win::evaluate_acl(*security, win::current_user_sid(), win::ObjectKind::output_folder,
                                                    path, "the resolved files in it");
  if (verdict.failure) return make_error(Code::usage, *verdict.failure);
  return ok();
}

}  // namespace

std::vector<std::string> command_line(int argc, char** argv) {
  int count = 0;
  wchar_t** wide = ::CommandLineToArgvW(::GetCommandLineW(), &count);
  if (wide == nullptr) {
    // Cannot happen short of memory exhaustion; the ANSI argv is better than nothing.
    return argc > 0 ? std::vector<std::string>(argv, argv + argc) : std::vector<std::string>();
  }
  std::vector<std::string> out;
  out.reserve(static_cast<std::size_t>(count));
  for (int i = 0; i < count; ++i) out.push_back(win::to_utf8(wide[i]));
  ::LocalFree(wide);
  return out;
}

Status harden_process() {
  // No error dialog: a crash or a missing disk must end the process, not leave it (with its
  // secrets) waiting for a click nobody gives. Children inherit the mode (the backend runs in a
  // job with DIE_ON_UNHANDLED_EXCEPTION as well).
  ::SetErrorMode(::GetErrorMode() | SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX | SEM_NOOPENFILEERRORBOX);
  // DLLs load from System32 only: never from the folder of stsecrets.exe's caller (a planted
  // version.dll in the current folder) nor from Path.
  if (!::SetDefaultDllDirectories(LOAD_LIBRARY_SEARCH_SYSTEM32)) {
    const DWORD err = ::GetLastError();
    return make_error(Code::internal, "cannot limit DLL loading to System32: " + win::system_message(err),
                      static_cast<int>(err));
  }
  return ok();
}

// The job object that runs each backend holds its whole tree, and COMMAND's (exec) too: nothing
// to adopt, nothing left to end.
Status adopt_orphans() { return ok(); }
Status end_children(bool /*stop_adopting*/) { return ok(); }

Status write_stdout(std::string_view bytes) { return write_std(STD_OUTPUT_HANDLE, bytes, "standard output"); }
Status write_stderr(std::string_view bytes) { return write_std(STD_ERROR_HANDLE, bytes, "standard error"); }

Result<std::string> read_stdin(std::size_t max_bytes) {
  const HANDLE h = ::GetStdHandle(STD_INPUT_HANDLE);
  if (!ScopedHandle::is_valid(h)) {
    return make_error(Code::io_failed, "cannot read standard input: the process has none; redirect it from a file or pipe");
  }
  std::string bytes;
  char chunk[16384];
  for (;;) {
    DWORD n = 0;
    if (!::ReadFile(h, chunk, sizeof chunk, &n, nullptr)) {
      const DWORD err = ::GetLastError();
      if (err == ERROR_BROKEN_PIPE || err == ERROR_HANDLE_EOF) break;  // the writer closed its end
      return io_error("cannot read standard input", err);
    }
    if (n == 0) break;
    bytes.append(chunk, n);
    if (bytes.size() > max_bytes) {
      return make_error(Code::request_invalid,
                        "the request on standard input is larger than " + std::to_string(max_bytes) + " bytes");
    }
  }
  return bytes;
}

Status write_private_file(const std::string& path, std::string_view bytes, OutputFolder folder) {
  if (folder == OutputFolder::private_only) {
    // make_private_dir's rules again, by path, just before the write (the folder exists now).
    const std::size_t cut = path.find_last_of("\\/");
    if (cut != std::string::npos && cut > 0) {
      if (Status st = make_private_dir(path.substr(0, cut)); !st) return st;
    }
  }
  return platform::write_file_atomic(path, bytes);
}

Status make_private_dir(const std::string& path) {
  const std::wstring wide = win::to_wide(path);
  // The folder itself, not what a link or junction at DIR leads to: that is judged as itself.
  ScopedHandle dir(::CreateFileW(wide.c_str(), READ_CONTROL | FILE_READ_ATTRIBUTES,
                                 FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                                 FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (dir.valid()) return check_existing_output_dir(dir.get(), path);
  DWORD err = ::GetLastError();
  if (err == ERROR_FILE_NOT_FOUND) {
    // Owner-only, inherited by what is created inside (the output files set their own anyway).
    win::OwnerOnlyAttributes owner_only(win::OwnerOnlyAttributes::Inherit::to_children);
    if (!owner_only.ok()) return make_error(Code::internal, "cannot build an owner-only DACL for " + quote_text(path, 512));
    if (::CreateDirectoryW(wide.c_str(), owner_only.get())) return ok();
    err = ::GetLastError();
  } else if (err != ERROR_PATH_NOT_FOUND) {
    return io_error("cannot open --output-dir " + quote_text(path, 512) + " to check its permissions", err);
  }
  return io_error("cannot create the folder " + quote_text(path, 512), err);
}

std::optional<std::string> file_identity(const std::string& path) {
  ScopedHandle h(::CreateFileW(win::to_wide(path).c_str(), FILE_READ_ATTRIBUTES,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                               FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!h.valid()) return std::nullopt;
  // The 128-bit id of FILE_ID_INFO where the file system has one (ReFS); else the 64-bit index.
  FILE_ID_INFO id{};
  if (::GetFileInformationByHandleEx(h.get(), FileIdInfo, &id, sizeof id)) {
    std::string out = std::to_string(id.VolumeSerialNumber) + ":";
    static constexpr char kHex[] = "0123456789abcdef";
    for (const BYTE b : id.FileId.Identifier) {
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
    return out;
  }
  BY_HANDLE_FILE_INFORMATION info{};
  if (!::GetFileInformationByHandle(h.get(), &info)) return std::nullopt;
  return std::to_string(info.dwVolumeSerialNumber) + ":" +
         std::to_string((static_cast<std::uint64_t>(info.nFileIndexHigh) << 32) | info.nFileIndexLow);
}

Result<int> run_command(const std::vector<std::string>& argv, const Environment& env, const Environment& caller_env) {
  if (argv.empty()) return make_error(Code::usage, "no command to run");
  auto app = find_command(argv.front(), caller_env);
  if (!app) return std::move(app).error();
  const std::string shown = quote_text(win::to_utf8(*app), 256);

  std::wstring cmd;
  win::append_argument(cmd, *app);
  for (std::size_t i = 1; i < argv.size(); ++i) win::append_argument(cmd, win::to_wide(argv[i]));
  std::wstring block = environment_block(env);
  StdCopies std_copies;
  // CREATE_DEFAULT_ERROR_MODE: COMMAND gets the system's error mode, not harden_process's.
  const win::ChildSpec spec{*app, cmd, &block, nullptr,
                            {std_copies.handles[0].get(), std_copies.handles[1].get(), std_copies.handles[2].get()},
                            CREATE_DEFAULT_ERROR_MODE};
  win::StartedChild child;
  const auto failure = win::start_in_job(spec, child);
  // COMMAND has its copy of the values now (or never will): ours go.
  secure_zero(block.data(), block.size() * sizeof(wchar_t));
  if (failure) {
    if (failure->stage == SpawnStage::create_process) {
      const Code code = failure->error == ERROR_FILE_NOT_FOUND || failure->error == ERROR_PATH_NOT_FOUND ? Code::usage
                                                                                                           : Code::io_failed;
      return make_error(code, "cannot execute " + shown + ": " + win::system_message(failure->error),
                        static_cast<int>(failure->error));
    }
    return make_error(Code::io_failed,
                      "cannot execute " + shown + ": " + stage_text(failure->stage) + ": " + win::system_message(failure->error),
                      static_cast<int>(failure->error));
  }
  for (auto& h : std_copies.handles) h.reset();
  if (::WaitForSingleObject(child.process.get(), INFINITE) != WAIT_OBJECT_0) {
    return io_error("cannot wait for " + shown, ::GetLastError());
  }
  DWORD code = 0;
  if (!::GetExitCodeProcess(child.process.get(), &code)) return io_error("cannot read the exit code of " + shown, ::GetLastError());
  // child.job closes on return: whatever COMMAND left running in it ends with it.
  return static_cast<int>(code);
}

std::string default_config_path(const Environment& env) {
  if (const std::string* config = find_env(env, "STS_CONFIG"); config != nullptr && !config->empty()) return *config;
  const std::string* data = find_env(env, "ProgramData");
  return (data != nullptr && !data->empty() ? *data : std::string(kDefaultProgramData)) +
         std::string(kConfigUnderProgramData);
}

}  // namespace sts
