// The file hooks of file_io.h on Windows: secret files read beneath a root, output files, and
// the audit log, and read_file for non-secret files (configs, documents).
//
// read_beneath: the name is checked first (no "..", drive letter, UNC or absolute path, no
//   name:stream, no device name such as CON or NUL with or without an extension, nothing
//   Windows would strip or refuse), then opened one component at a time with NtCreateFile
//   relative to the handle of the folder above (OBJECT_ATTRIBUTES.RootDirectory), the Windows
//   form of openat: no component is ever looked up by a full path after the root is open.
//   Each component is opened FILE_OPEN_REPARSE_POINT and refused when it is a reparse point
//   (symbolic link, junction, mount point): unlike POSIX, no link is followed inside the root.
//   Folders on the way are held without FILE_SHARE_DELETE, so they cannot be renamed while the
//   walk stands in them; the file is opened FILE_NON_DIRECTORY_FILE, checked to be a disk file
//   and to lie beneath the root's final path (GetFinalPathNameByHandleW of both handles: under
//   Wine a Unix symbolic link reached through Z: is followed without being a reparse point), and
//   read through that handle straight into secure memory.
//
// write_file_atomic: the destination is opened FILE_FLAG_OPEN_REPARSE_POINT and refused when it
//   is a reparse point, a folder or not a disk file (CON, NUL, a pipe); the bytes go to a new
//   file (CREATE_NEW, owner-only protected DACL) beside it, flushed, and MoveFileExW(
//   MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH) puts it in place. What holds against a
//   destination changed between the check and the move: the bytes only ever go into our own
//   new file, and a move replaces a name, never writing through a link; a reparse point planted
//   in that window by someone who can write the folder would be replaced (as they could delete
//   it themselves). Windows has no RENAME_EXCHANGE to close that window as POSIX does.
//
// append_audit_line: SPEC 6 on Windows: a disk file, not a reparse point, one link, owned by
//   the current user (or the token's default owner, Administrators for an elevated admin), a
//   DACL that gives no other principal any right (SYSTEM and Administrators aside), in a folder
//   owned by the user, the default owner, SYSTEM, Administrators or TrustedInstaller where no
//   other principal may delete children or re-permission it, below folders (up to the
//   drive root, links and junctions resolved: folders_above.h) that pass the ancestor rule of
//   acl_rules.h, so nobody else can rename the log's folder away. Created with a protected
//   owner-only DACL. Rotation takes an exclusive LockFileEx on one byte far past the end of the
//   log (an advisory mutex: a lock on real bytes would block readers such as a tail), and a
//   waiter that gets the lock re-checks that the path still names the file it locked.
#if !defined(_WIN32)
#error "file_io_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "common/file_io.h"

#include "common/file_io_messages.h"
#include "common/text.h"
#include "stsecrets/check.h"
#include "windows/audit_folder_rules.h"
#include "windows/folders_above.h"
#include "windows/owner_only.h"
#include "windows/scoped_handle.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"

#include <windows.h>
#include <sddl.h>
#include <winternl.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sts::platform {
namespace {

using win::ScopedHandle;
using win::OwnerOnlyAttributes;
using win::ScopedLocal;

// ---- small shared steps --------------------------------------------------------------------

bool is_separator(char c) { return c == '\\' || c == '/'; }

std::string shown(std::string_view path) { return escape_controls(path); }

std::string quoted(std::string_view path) { return "\"" + std::string(path) + "\""; }

struct PathParts {
  std::string dir;   // "." for a bare name
  std::string base;  // empty when the path ends in a separator
};

PathParts split_parent(const std::string& path) {
  const auto at = path.find_last_of("\\/");
  if (at == std::string::npos) {
    // "C:name" is relative to the current folder of drive C:.
    if (path.size() >= 2 && path[1] == ':') return {path.substr(0, 2), path.substr(2)};
    return {".", path};
  }
  std::string dir = path.substr(0, at);
  if (dir.empty() || (dir.size() == 2 && dir[1] == ':')) dir += '\\';  // "\name", "C:\name"
  return {dir, path.substr(at + 1)};
}

bool names_a_folder(std::string_view base) { return base.empty() || base == "." || base == ".."; }

// DOS device names: opening one of these as a file name reaches the device, in any folder and
// with any extension ("NUL.txt" is NUL).
bool is_device_name(std::string_view component) {
  std::string stem(component.substr(0, component.find('.')));
  while (!stem.empty() && stem.back() == ' ') stem.pop_back();
  stem = ascii_upper(stem);
  static constexpr std::array<std::string_view, 6> kPlain{"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"};
  if (std::find(kPlain.begin(), kPlain.end(), stem) != kPlain.end()) return true;
  return stem.size() == 4 && (stem.rfind("COM", 0) == 0 || stem.rfind("LPT", 0) == 0) && stem[3] >= '1' && stem[3] <= '9';
}

std::vector<std::string> split_components(std::string_view text) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || is_separator(text[i])) {
      std::string_view part = text.substr(start, i - start);
      if (!part.empty() && part != ".") parts.emplace_back(part);
      start = i + 1;
    }
  }
  return parts;
}

// Writes all of bytes; 0, or the Windows error of the failed write.
DWORD write_all(HANDLE h, std::string_view bytes) {
  while (!bytes.empty()) {
    const DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(bytes.size(), 1u << 30));
    DWORD n = 0;
    if (!::WriteFile(h, bytes.data(), chunk, &n, nullptr)) return ::GetLastError();
    bytes.remove_prefix(n);
  }
  return 0;
}

std::optional<BY_HANDLE_FILE_INFORMATION> file_info(HANDLE h) {
  BY_HANDLE_FILE_INFORMATION info{};
  if (!::GetFileInformationByHandle(h, &info)) return std::nullopt;
  return info;
}

bool is_reparse(const BY_HANDLE_FILE_INFORMATION& info) {
  return (info.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0;
}
bool is_folder(const BY_HANDLE_FILE_INFORMATION& info) { return (info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0; }

const char* kind_of_handle(HANDLE h) {
  switch (::GetFileType(h)) {
    case FILE_TYPE_DISK: return "a regular file";
    case FILE_TYPE_CHAR: return "a character device";
    case FILE_TYPE_PIPE: return "a pipe";
    default: return "an unknown kind of file";
  }
}

// ---- read_beneath ----------------------------------------------------------------------------

// The rules on the name itself, before anything is opened; empty when it passes.
std::string name_problem(std::string_view rel, const std::string& root) {
  if (rel.empty()) return "empty name";
  if (rel.find('\0') != std::string_view::npos) return "name contains a NUL byte";
  if (is_separator(rel.front())) return "absolute and UNC paths are not allowed; name a file under " + root;
  if (rel.size() >= 2 && rel[1] == ':') return "drive letters are not allowed; name a file under " + root;
  if (is_separator(rel.back())) return "the name ends with a separator; name a file under " + root + ", not a folder";
  for (const auto& part : split_components(rel)) {
    if (part == "..") return "\"..\" is not allowed; name a file under " + root;
    if (part.find(':') != std::string::npos) {
      return "alternate data streams (name:stream) are not allowed; name a file under " + root;
    }
    for (char ch : part) {
      const auto c = static_cast<unsigned char>(ch);
      if (c < 0x20 || std::string_view("<>\"|?*").find(ch) != std::string_view::npos) {
        return "the name has a character Windows does not allow in file names";
      }
    }
    if (part.back() == '.' || part.back() == ' ') {
      return "a part of the name ends with a dot or a space, which Windows would strip; name the file exactly";
    }
    if (is_device_name(part)) return "device names (CON, NUL, COM1, LPT1, ...) are not allowed; name a file under " + root;
  }
  return {};
}

// NtCreateFile and RtlNtStatusToDosError from ntdll (always loaded), so the library links no
// import library beyond those CMake already names.
struct Ntdll {
  using CreateFileFn = NTSTATUS(NTAPI*)(PHANDLE, ACCESS_MASK, POBJECT_ATTRIBUTES, PIO_STATUS_BLOCK, PLARGE_INTEGER,
                                        ULONG, ULONG, ULONG, ULONG, PVOID, ULONG);
  using StatusToDosFn = ULONG(NTAPI*)(NTSTATUS);
  CreateFileFn create_file = nullptr;
  StatusToDosFn status_to_dos = nullptr;

  static const Ntdll& get() {
    static const Ntdll instance;
    return instance;
  }

 private:
  Ntdll() {
    HMODULE ntdll = ::GetModuleHandleW(L"ntdll.dll");
    if (ntdll == nullptr) return;
    // Through void(*)() so the compiler accepts the cast from FARPROC.
    create_file = reinterpret_cast<CreateFileFn>(reinterpret_cast<void (*)()>(::GetProcAddress(ntdll, "NtCreateFile")));
    status_to_dos =
        reinterpret_cast<StatusToDosFn>(reinterpret_cast<void (*)()>(::GetProcAddress(ntdll, "RtlNtStatusToDosError")));
  }
};

constexpr NTSTATUS kStatusObjectNameNotFound = static_cast<NTSTATUS>(0xC0000034L);
constexpr NTSTATUS kStatusObjectPathNotFound = static_cast<NTSTATUS>(0xC000003AL);
constexpr NTSTATUS kStatusNotADirectory = static_cast<NTSTATUS>(0xC0000103L);
constexpr NTSTATUS kStatusFileIsADirectory = static_cast<NTSTATUS>(0xC00000BAL);

// Opens `name` (one component) relative to the folder handle `dir`, never following a reparse
// point. folder: open it as a folder to walk into; else as the file to read.
NTSTATUS open_relative(HANDLE dir, const std::wstring& name, bool folder, ScopedHandle& out) {
  const Ntdll& nt = Ntdll::get();
  if (nt.create_file == nullptr) return static_cast<NTSTATUS>(0xC0000002L);  // STATUS_NOT_IMPLEMENTED
  UNICODE_STRING uname;
  uname.Buffer = const_cast<PWSTR>(name.c_str());
  uname.Length = static_cast<USHORT>(name.size() * sizeof(wchar_t));
  uname.MaximumLength = uname.Length;
  OBJECT_ATTRIBUTES attrs;
  InitializeObjectAttributes(&attrs, &uname, OBJ_CASE_INSENSITIVE, dir, nullptr);
  IO_STATUS_BLOCK io{};
  HANDLE h = nullptr;
  // Folders: others may add files but not rename or delete this folder while we stand in it.
  // The file: nobody may write, rename or delete it while we read it.
  const ACCESS_MASK access = folder ? (FILE_TRAVERSE | FILE_READ_ATTRIBUTES | SYNCHRONIZE)
                                    : (FILE_READ_DATA | FILE_READ_ATTRIBUTES | SYNCHRONIZE);
  const ULONG share = folder ? (FILE_SHARE_READ | FILE_SHARE_WRITE) : FILE_SHARE_READ;
  const ULONG options = FILE_OPEN_REPARSE_POINT | FILE_SYNCHRONOUS_IO_NONALERT |
                        (folder ? FILE_DIRECTORY_FILE : FILE_NON_DIRECTORY_FILE);
  const NTSTATUS status = nt.create_file(&h, access, &attrs, &io, nullptr, 0, share, FILE_OPEN, options, nullptr, 0);
  if (status >= 0) out.reset(h);
  return status;
}

DWORD dos_error(NTSTATUS status) {
  const Ntdll& nt = Ntdll::get();
  return nt.status_to_dos != nullptr ? static_cast<DWORD>(nt.status_to_dos(status)) : ERROR_GEN_FAILURE;
}

Error beneath_open_failed(const BeneathErrors& fail, NTSTATUS status) {
  const int err = static_cast<int>(dos_error(status));
  if (status == kStatusObjectNameNotFound || status == kStatusObjectPathNotFound) return fail.missing(err);
  if (status == kStatusNotADirectory) return fail.not_a_folder_on_the_way(err);
  if (status == kStatusFileIsADirectory) return fail.is_directory(err);
  return fail.cannot("open", win::system_message(static_cast<DWORD>(err)), err);
}

// The final path of an open handle ("\\?\C:\dir\name"), or "" when the system cannot say.
std::wstring final_path(HANDLE h) {
  std::wstring buf(MAX_PATH, L'\0');
  for (int attempt = 0; attempt < 4; ++attempt) {
    const DWORD n = ::GetFinalPathNameByHandleW(h, buf.data(), static_cast<DWORD>(buf.size()),
                                                FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (n == 0) return {};
    if (n < buf.size()) {
      buf.resize(n);
      return buf;
    }
    buf.resize(n);  // n is the size needed, terminator included
  }
  return {};
}

// Whether `inner` is strictly beneath the folder `outer` (both final paths); names compare
// case-insensitively, as the file system compares them.
bool is_beneath(std::wstring_view outer, std::wstring_view inner) {
  if (!outer.empty() && outer.back() == L'\\') outer.remove_suffix(1);  // a drive root "C:\"
  if (inner.size() <= outer.size() + 1 || inner[outer.size()] != L'\\') return false;
  return ::CompareStringOrdinal(inner.data(), static_cast<int>(outer.size()), outer.data(), static_cast<int>(outer.size()),
                                TRUE) == CSTR_EQUAL;
}

// Reads at most max_bytes + 1 bytes into secure memory; 0 or the Windows error.
DWORD read_capped(HANDLE h, std::size_t max_bytes, std::size_t size_hint, SecureBuffer& out) {
  const std::size_t limit = max_bytes + 1;
  out.reserve(std::min(size_hint, max_bytes) + 1);
  while (out.size() < limit) {
    if (out.spare_size() == 0) out.reserve(std::min(out.size() * 2, limit));
    const DWORD want = static_cast<DWORD>(std::min<std::size_t>({out.spare_size(), limit - out.size(), 1u << 30}));
    DWORD n = 0;
    if (!::ReadFile(h, out.spare(), want, &n, nullptr)) return ::GetLastError();
    if (n == 0) break;
    out.commit(n);
  }
  return 0;
}

// ---- write_file_atomic -------------------------------------------------------------------------

Error write_refused(const std::string& path, const std::string& why) {
  return make_error(Code::usage, "refusing to write " + shown(path) + ": " + why);
}

Error io_error(const std::string& what, const std::string& path, DWORD err) {
  return make_error(Code::io_failed, "cannot " + what + " " + shown(path) + ": " + win::system_message(err),
                    static_cast<int>(err));
}

// The destination, if it exists, must be a plain disk file; opened without following a
// reparse point so a link is judged as itself.
Status check_destination(const std::string& path) {
  const std::string base = split_parent(path).base;
  if (is_device_name(base)) return write_refused(path, "it names a device; name a regular file, or use -o - for stdout");
  ScopedHandle h(::CreateFileW(win::to_wide(path).c_str(), FILE_READ_ATTRIBUTES,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                               FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!h.valid()) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_FILE_NOT_FOUND) return ok();
    return io_error("inspect", path, err);
  }
  const auto info = file_info(h.get());
  if (::GetFileType(h.get()) != FILE_TYPE_DISK) {
    return write_refused(path, std::string("it is ") + kind_of_handle(h.get()) +
                                   ", not a regular file; name a regular file, or use -o - for stdout");
  }
  if (!info) return io_error("inspect", path, ::GetLastError());
  if (is_reparse(*info)) {
    return write_refused(path, "it is a symbolic link or another reparse point; name the file it points to, or "
                               "remove the link first");
  }
  if (is_folder(*info)) return write_refused(path, "it is a folder; name a file (or use --output-dir for a folder)");
  return ok();
}

std::string temp_name_for(const std::string& path) {
  static std::atomic<unsigned> counter{0};
  const PathParts parts = split_parent(path);
  std::string dir = parts.dir;
  if (!dir.empty() && !is_separator(dir.back()) && !(dir.size() == 2 && dir[1] == ':')) dir += '\\';
  return dir + "." + parts.base.substr(0, 200) + ".tmp-" + std::to_string(::GetCurrentProcessId()) + "-" +
         std::to_string(counter++) + "-" + std::to_string(::GetTickCount64() & 0xffffff);
}

// ---- append_audit_line -------------------------------------------------------------------------

constexpr int kMaxAuditAttempts = 64;

// The default owner the process gives the files it creates (TokenOwner): the user, or
// Administrators for an elevated administrator.
std::string token_default_owner_sid() {
  HANDLE raw = nullptr;
  if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &raw)) return {};
  ScopedHandle token(raw);
  DWORD size = 0;
  ::GetTokenInformation(token.get(), TokenOwner, nullptr, 0, &size);
  if (size == 0) return {};
  auto buf = std::make_unique<unsigned char[]>(size);
  if (!::GetTokenInformation(token.get(), TokenOwner, buf.get(), size, &size)) return {};
  ScopedLocal<wchar_t> text;
  if (!::ConvertSidToStringSidW(reinterpret_cast<TOKEN_OWNER*>(buf.get())->Owner, text.out())) return {};
  return win::to_utf8(text.get());
}

bool is_trusted_admin(std::string_view sid) { return sid == win::kSidSystem || sid == win::kSidAdministrators; }

std::string owner_only_fix(const std::string& path, const std::string& user) {
  return "run icacls " + quoted(path) + " /inheritance:r /grant:r *" + user + ":(F)";
}

// SPEC 6 on an existing (or just created) audit log, as data.
std::vector<CheckRule> audit_file_rules(HANDLE h, const BY_HANDLE_FILE_INFORMATION& info, const win::SecurityInfo& sec,
                                        const std::string& path) {
  const std::string p = shown(path);
  const std::string user = win::current_user_sid();
  const std::string default_owner = token_default_owner_sid();
  std::vector<CheckRule> rules;
  const bool disk = ::GetFileType(h) == FILE_TYPE_DISK && !is_folder(info) && !is_reparse(info);
  rules.push_back({"audit type", disk,
                   "the audit log " + p + " is " +
                       (is_reparse(info) ? std::string("a reparse point (a symbolic link or junction)")
                        : is_folder(info) ? std::string("a folder")
                                          : std::string(kind_of_handle(h))),
                   disk ? "" : "point secret_audit_file at a plain file, or remove it and let stsecrets create it"});
  const bool one_link = info.nNumberOfLinks == 1;
  rules.push_back({"audit links", one_link,
                   "the audit log " + p + " has " + std::to_string(info.nNumberOfLinks) +
                       " hard links, so it can be read or replaced through another name",
                   one_link ? "" : "move it away and let stsecrets create a new one"});
  const bool owned = !sec.owner_sid.empty() && (sec.owner_sid == user || sec.owner_sid == default_owner);
  rules.push_back({"audit owner", owned,
                   "the audit log " + p + " is owned by " + win::account_text(sec.owner_sid) +
                       ", not by the current user, so its owner can forge records",
                   owned ? "" : "move it away and let stsecrets create a new one, or run icacls " + quoted(path) +
                                    " /setowner *" + user + " if you trust its records"});
  std::string others;
  if (sec.null_dacl) others = "everyone (NULL DACL)";
  for (const auto& ace : sec.aces) {
    if (!others.empty()) break;
    if (!ace.allow() || ace.inherit_only()) continue;
    if (ace.sid == user || ace.sid == default_owner || is_trusted_admin(ace.sid)) continue;
    others = win::account_text(ace.sid) + " (" + win::rights_in_words(ace.mask, false) + ")";
  }
  rules.push_back({"audit dacl", others.empty(), "the audit log " + p + " gives rights to " + others + ", not only to its owner",
                   others.empty() ? "" : owner_only_fix(path, user)});
  return rules;
}

// The folder of the log: owned by the user, the token's default owner, SYSTEM, Administrators or
// TrustedInstaller (an owner may always change its permissions, so another user who created the
// folder could later grant themselves delete child), and no other principal may delete children
// (rename the log away) or re-permission or delete the folder. Adding files is allowed
// (C:\ProgramData grants it to Users): a file they add at the log's name fails the owner rule.
std::vector<CheckRule> audit_folder_rules(const win::SecurityInfo& sec, const std::string& dir) {
  const std::string user = win::current_user_sid();
  const std::string default_owner = token_default_owner_sid();
  std::vector<CheckRule> rules;
  const bool owned = !sec.owner_sid.empty() &&
                     (sec.owner_sid == user || sec.owner_sid == default_owner || is_trusted_admin(sec.owner_sid) ||
                      sec.owner_sid == win::kSidTrustedInstaller);
  const std::string owner = sec.owner_sid.empty() ? std::string("nobody") : win::account_text(sec.owner_sid);
  rules.push_back({"audit folder owner", owned,
                   "the folder " + shown(dir) + " of the audit log is owned by " + owner +
                       ", not by SYSTEM, Administrators, TrustedInstaller or " +
                       (user.empty() ? std::string("the current user") : win::account_text(user)) +
                       ", so its owner can rename the log away",
                   owned ? "" : "run icacls " + quoted(dir) + " /setowner *" + user + ", or put the log in a folder of its own"});
  constexpr DWORD kRenameRights = FILE_DELETE_CHILD | DELETE | WRITE_DAC | WRITE_OWNER | GENERIC_ALL;
  std::string who;
  std::string sid;
  if (sec.null_dacl) who = "everyone (NULL DACL)";
  for (const auto& ace : sec.aces) {
    if (!who.empty()) break;
    if (!ace.allow() || ace.inherit_only() || (ace.mask & kRenameRights) == 0) continue;
    if (ace.sid == user || ace.sid == default_owner || is_trusted_admin(ace.sid) || ace.sid == win::kSidTrustedInstaller) {
      continue;
    }
    who = win::account_text(ace.sid) + " (" + win::rights_in_words(ace.mask & kRenameRights, true) + ")";
    sid = ace.sid;
  }
  rules.push_back({"audit folder dacl", who.empty(),
                   "the folder " + shown(dir) + " of the audit log lets " + who + " rename the log away",
                   who.empty() ? ""
                   : sid.empty() ? "put the log in a folder of its own"
                                 : "run icacls " + quoted(dir) + " /inheritance:d /remove:g *" + sid +
                                       ", or put the log in a folder of its own"});
  return rules;
}

Status first_failure(const std::vector<CheckRule>& rules) {
  for (const auto& r : rules) {
    if (!r.ok) return make_error(Code::config_insecure, r.detail + "; " + r.fix);
  }
  return ok();
}

Status check_audit_folder(const std::string& dir, const std::string& path) {
  ScopedHandle h(::CreateFileW(win::to_wide(dir).c_str(), READ_CONTROL | FILE_READ_ATTRIBUTES,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, nullptr, OPEN_EXISTING,
                               FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!h.valid()) {
    const DWORD err = ::GetLastError();
    return make_error(Code::io_failed,
                      "cannot open the folder of the audit log " + shown(path) + ": " + win::system_message(err) +
                          (err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND
                               ? "; create it (owner-only) or change secret_audit_file"
                               : ""),
                      static_cast<int>(err));
  }
  auto sec = win::read_security(h.get());
  if (!sec) return make_error(Code::io_failed, "cannot read the permissions of " + shown(dir) + ": " + sec.error().message);
  if (auto st = first_failure(audit_folder_rules(*sec, dir)); !st) return st;

  // Every folder above it, up to the drive root, and above its real path when a link or junction
  // leads elsewhere: whoever may rename one of them (delete child, or re-permission it) can move
  // the log's folder aside with the records and put their own in its place, choosing where the
  // next run writes. Adding files or subfolders replaces nothing and is allowed.
  std::vector<wchar_t> full(32768);
  const DWORD n = ::GetFullPathNameW(win::to_wide(dir).c_str(), static_cast<DWORD>(full.size()), full.data(), nullptr);
  if (n == 0 || n >= full.size()) {
    const DWORD err = ::GetLastError();
    return make_error(Code::io_failed, "cannot resolve the folder of the audit log " + shown(path) + ": " +
                                           win::system_message(err) + "; give secret_audit_file as a full path",
                      static_cast<int>(err));
  }
  for (auto& verdict : win::folders_above_verdicts(win::to_utf8(std::wstring(full.data(), n)), h.get(), "the audit log",
                                                   win::ObjectKind::ancestor)) {
    if (verdict.failure) return make_error(Code::config_insecure, std::move(*verdict.failure));
  }
  return ok();
}

struct FileId {
  DWORD volume = 0;
  DWORD high = 0;
  DWORD low = 0;
  bool operator==(const FileId&) const = default;
};

FileId id_of(const BY_HANDLE_FILE_INFORMATION& info) {
  return {info.dwVolumeSerialNumber, info.nFileIndexHigh, info.nFileIndexLow};
}

// Whether path still names the file behind h (a rotation may have moved it while we waited).
bool still_named(const std::wstring& wpath, HANDLE h, BY_HANDLE_FILE_INFORMATION& info) {
  auto mine = file_info(h);
  if (!mine) return false;
  info = *mine;
  ScopedHandle now(::CreateFileW(wpath.c_str(), FILE_READ_ATTRIBUTES, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                                 nullptr, OPEN_EXISTING, FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS, nullptr));
  if (!now.valid()) return false;
  auto theirs = file_info(now.get());
  return theirs && id_of(*theirs) == id_of(*mine);
}

// Opens (creating owner-only) the log for appending and checks the rules on the handle. An
// invalid handle means it vanished meanwhile (another appender rotated it): try again.
Result<ScopedHandle> open_audit_file(const std::wstring& wpath, const std::string& path, OwnerOnlyAttributes& owner_only) {
  // FILE_APPEND_DATA without FILE_WRITE_DATA: every write goes to the end, like O_APPEND.
  // FILE_READ_DATA: LockFileEx needs read or write data access. FILE_SHARE_DELETE: so the
  // appender holding the lock can rotate the file while others wait on it.
  ScopedHandle h(::CreateFileW(wpath.c_str(), FILE_APPEND_DATA | FILE_READ_DATA | FILE_READ_ATTRIBUTES | READ_CONTROL | SYNCHRONIZE,
                               FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, owner_only.get(), OPEN_ALWAYS,
                               FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr));
  if (!h.valid()) {
    const DWORD err = ::GetLastError();
    if (err == ERROR_FILE_NOT_FOUND) return ScopedHandle();
    if (err == ERROR_ACCESS_DENIED) {
      // A folder at the path, or a file whose DACL keeps us out; either breaks the rules.
      return make_error(Code::config_insecure, "the audit log " + shown(path) +
                                                   " cannot be opened for appending (a folder, or a file that is not "
                                                   "ours): point secret_audit_file at a file of your own, or remove it "
                                                   "and let stsecrets create it",
                        static_cast<int>(err));
    }
    return make_error(Code::io_failed, "cannot open the audit log " + shown(path) + ": " + win::system_message(err),
                      static_cast<int>(err));
  }
  auto info = file_info(h.get());
  if (!info) return io_error("inspect the audit log", path, ::GetLastError());
  auto sec = win::read_security(h.get());
  if (!sec) return make_error(Code::io_failed, "cannot read the permissions of " + shown(path) + ": " + sec.error().message);
  if (auto st = first_failure(audit_file_rules(h.get(), *info, *sec, path)); !st) return std::move(st).error();
  return h;
}

// An exclusive lock on one byte far past any real end of file: an advisory mutex that blocks
// no reader or writer of the log. Unlocked explicitly before the handle closes (Windows
// releases a closed handle's locks only "eventually").
class AuditLock {
 public:
  explicit AuditLock(HANDLE h) : h_(h) {
    OVERLAPPED ov = region();
    error_ = ::LockFileEx(h_, LOCKFILE_EXCLUSIVE_LOCK, 0, 1, 0, &ov) ? 0 : ::GetLastError();
  }
  ~AuditLock() {
    if (error_ != 0) return;
    OVERLAPPED ov = region();
    ::UnlockFileEx(h_, 0, 1, 0, &ov);
  }
  AuditLock(const AuditLock&) = delete;
  AuditLock& operator=(const AuditLock&) = delete;
  DWORD error() const { return error_; }

 private:
  static OVERLAPPED region() {
    OVERLAPPED ov{};
    ov.OffsetHigh = 0x7fffffff;
    return ov;
  }
  HANDLE h_;
  DWORD error_ = 0;
};

}  // namespace

Status audit_folder_verdict(const win::SecurityInfo& sec, const std::string& dir) {
  return first_failure(audit_folder_rules(sec, dir));
}

// ---- the hooks -------------------------------------------------------------------------------

Result<SecureBuffer> read_beneath(const std::string& root, std::string_view relative, std::size_t max_bytes) {
  const BeneathErrors fail(root, relative, '\\');
  if (auto problem = name_problem(relative, fail.root()); !problem.empty()) return fail.bad_name(problem);

  ScopedHandle folder(::CreateFileW(win::to_wide(root).c_str(), FILE_TRAVERSE | FILE_READ_ATTRIBUTES | SYNCHRONIZE,
                                    FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr, OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS,
                                    nullptr));
  if (!folder.valid()) {
    const DWORD err = ::GetLastError();
    return fail.root_unusable(win::system_message(err), static_cast<int>(err));
  }
  // Where the root really is, for the final-path check below (held without delete sharing, it
  // cannot be renamed meanwhile).
  const std::wstring root_final = final_path(folder.get());
  if (root_final.empty()) {
    const DWORD err = ::GetLastError();
    return fail.root_unusable(win::system_message(err), static_cast<int>(err));
  }
  const auto parts = split_components(relative);
  std::string walked = fail.root();
  ScopedHandle file;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    walked += "\\" + parts[i];
    ScopedHandle next;
    const NTSTATUS status = open_relative(folder.get(), win::to_wide(parts[i]), !last, next);
    if (status < 0) return beneath_open_failed(fail, status);
    const auto info = file_info(next.get());
    if (!info) {
      const DWORD err = ::GetLastError();
      return fail.cannot("inspect", win::system_message(err), static_cast<int>(err));
    }
    if (is_reparse(*info)) return fail.reparse_point(walked);
    if (last) {
      file = std::move(next);
    } else {
      folder = std::move(next);
    }
  }
  if (!file.valid()) return fail.is_directory();  // "." and the like: the root itself
  if (::GetFileType(file.get()) != FILE_TYPE_DISK) return fail.not_regular(kind_of_handle(file.get()));
  // Where the handle really is. Windows links are reparse points, refused on the walk; but Wine
  // follows a Unix symbolic link seen through a drive (Z:) without reporting a reparse point, and
  // only the final path shows where it led.
  const std::wstring file_final = final_path(file.get());
  if (file_final.empty()) {
    const DWORD err = ::GetLastError();
    return fail.cannot("inspect", win::system_message(err), static_cast<int>(err));
  }
  if (!is_beneath(root_final, file_final)) return fail.leaves_root(0);
  LARGE_INTEGER size{};
  if (!::GetFileSizeEx(file.get(), &size)) {
    const DWORD err = ::GetLastError();
    return fail.cannot("inspect", win::system_message(err), static_cast<int>(err));
  }
  if (size.QuadPart > 0 && static_cast<unsigned long long>(size.QuadPart) > max_bytes) return fail.too_large(max_bytes);
  SecureBuffer value;
  if (const DWORD err = read_capped(file.get(), max_bytes, static_cast<std::size_t>(size.QuadPart), value); err != 0) {
    return fail.cannot("read", win::system_message(err), static_cast<int>(err));
  }
  if (value.size() > max_bytes) return fail.too_large(max_bytes);
  return value;
}

Status write_file_atomic(const std::string& path, std::string_view bytes, bool /*private_folder: checked by path in host_windows.cpp*/) {
  if (names_a_folder(split_parent(path).base)) return write_refused(path, "the path names a folder, not a file");
  if (auto st = check_destination(path); !st) return st;
  OwnerOnlyAttributes owner_only;
  if (!owner_only.ok()) return make_error(Code::internal, "cannot build an owner-only DACL for " + shown(path));

  const std::string tmp = temp_name_for(path);
  const std::wstring wtmp = win::to_wide(tmp);
  {
    ScopedHandle h(::CreateFileW(wtmp.c_str(), GENERIC_WRITE, 0, owner_only.get(), CREATE_NEW,
                                 FILE_ATTRIBUTE_NORMAL | FILE_FLAG_OPEN_REPARSE_POINT, nullptr));
    if (!h.valid()) return io_error("create a temporary file beside", path, ::GetLastError());
    const char* step = "write the temporary file for";
    DWORD err = write_all(h.get(), bytes);
    if (err == 0 && !::FlushFileBuffers(h.get())) {
      err = ::GetLastError();
      step = "flush the temporary file for";
    }
    if (err != 0) {
      h.reset();
      ::DeleteFileW(wtmp.c_str());
      return io_error(step, path, err);
    }
  }
  if (!::MoveFileExW(wtmp.c_str(), win::to_wide(path).c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    const DWORD err = ::GetLastError();
    ::DeleteFileW(wtmp.c_str());
    return io_error("rename the temporary file into place as", path, err);
  }
  return ok();
}

Status append_audit_line(const std::string& path, std::string_view line, std::uint64_t max_size) {
  const PathParts parts = split_parent(path);
  if (names_a_folder(parts.base)) {
    return make_error(Code::config_invalid, "secret_audit_file " + shown(path) + " names a folder; name a file");
  }
  if (path.rfind("\\\\.\\", 0) == 0 || is_device_name(parts.base)) {
    return make_error(Code::config_insecure, "the audit log " + shown(path) +
                                                 " names a device or pipe; point secret_audit_file at a plain file");
  }
  if (auto st = check_audit_folder(parts.dir, path); !st) return st;
  OwnerOnlyAttributes owner_only;
  if (!owner_only.ok()) return make_error(Code::internal, "cannot build an owner-only DACL for " + shown(path));
  const std::wstring wpath = win::to_wide(path);
  const std::wstring wrotated = win::to_wide(path + ".1");

  for (int attempt = 0; attempt < kMaxAuditAttempts; ++attempt) {
    auto h = open_audit_file(wpath, path, owner_only);
    if (!h) return std::move(h).error();
    if (!h->valid()) continue;
    const AuditLock lock(h->get());
    if (lock.error() != 0) return io_error("lock the audit log", path, lock.error());
    BY_HANDLE_FILE_INFORMATION info{};
    if (!still_named(wpath, h->get(), info)) continue;  // rotated while we waited; the lock goes with the handle
    const std::uint64_t size = (static_cast<std::uint64_t>(info.nFileSizeHigh) << 32) | info.nFileSizeLow;
    if (max_size > 0 && size > 0 && size + line.size() > max_size) {
      if (!::MoveFileExW(wpath.c_str(), wrotated.c_str(), MOVEFILE_REPLACE_EXISTING)) {
        const DWORD err = ::GetLastError();
        return make_error(Code::io_failed,
                          "cannot rotate the audit log " + shown(path) + " to " + shown(path) + ".1: " +
                              win::system_message(err),
                          static_cast<int>(err));
      }
      continue;
    }
    if (const DWORD err = write_all(h->get(), line); err != 0) return io_error("append to the audit log", path, err);
    return ok();
  }
  return make_error(Code::io_failed, "cannot append to the audit log " + shown(path) +
                                         ": it keeps being replaced or removed while appending; check what else writes it");
}

// read_file: a non-secret file (configs, documents) read whole, capped, never blocking on a
// FIFO: opened non-blocking, then only a regular (disk) file is read.
Result<std::string> read_file(const std::string& path, std::size_t max_bytes) {
  // Controls escaped, backslashes left alone: they are the separators of a Windows path, and
  // quote_text would double them.
  const std::string shown = escape_controls(path.size() <= 512 ? std::string_view(path) : std::string_view(path).substr(0, 512));
  auto fail = [&](const std::string& why, int err = 0) {
    return make_error(Code::config_unreadable, "cannot read " + shown + ": " + why, err);
  };
  auto os_fail = [&](DWORD e) { return fail(win::system_message(e), static_cast<int>(e)); };
  // FILE_FLAG_BACKUP_SEMANTICS: without it a folder fails to open with "Access is denied", and the
  // operator would look for a permission problem instead of a wrong path.
  win::ScopedHandle file(::CreateFileW(win::to_wide(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                                       nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL | FILE_FLAG_BACKUP_SEMANTICS,
                                       nullptr));
  if (!file.valid()) return os_fail(::GetLastError());
  if (::GetFileType(file.get()) != FILE_TYPE_DISK) return fail("it is not a regular file (a pipe or a device)");
  BY_HANDLE_FILE_INFORMATION info{};
  if (!::GetFileInformationByHandle(file.get(), &info)) return os_fail(::GetLastError());
  if ((info.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) return fail("it is a directory, not a file");
  const std::uint64_t size = (static_cast<std::uint64_t>(info.nFileSizeHigh) << 32) | info.nFileSizeLow;
  if (size > max_bytes) {
    return fail("larger than " + std::to_string(max_bytes / (1024 * 1024)) + " MiB; is this the right file?");
  }
  std::string text(static_cast<std::size_t>(size), '\0');
  std::size_t got = 0;
  while (got < text.size()) {
    DWORD n = 0;
    const DWORD want = static_cast<DWORD>(std::min<std::size_t>(text.size() - got, 1u << 20));
    if (!::ReadFile(file.get(), text.data() + got, want, &n, nullptr)) return os_fail(::GetLastError());
    if (n == 0) break;
    got += n;
  }
  text.resize(got);
  return text;
}

}  // namespace sts::platform
