#include "win_test_support.h"

#include "windows/security_descriptor.h"
#include "windows/wide_string.h"

#include <windows.h>
#include <aclapi.h>
#include <sddl.h>

#include <atomic>
#include <stdexcept>

namespace sts::wintest {

std::string fake_backend_source() {
  std::string p = STS_FAKE_BACKEND_WIN_PATH;
  if (!p.empty() && p[0] == '/') {
    for (auto& c : p) if (c == '/') c = '\\';
    p = "Z:" + p;
  }
  return p;
}

std::string expand_user(std::string sddl) {
  std::string user = win::current_user_sid();
  for (std::size_t at; (at = sddl.find("{U}")) != std::string::npos;) sddl.replace(at, 3, user);
  return sddl;
}

TempDir::TempDir() {
  static std::atomic<unsigned> counter{0};
  wchar_t buf[MAX_PATH + 1];
  DWORD n = ::GetTempPathW(MAX_PATH + 1, buf);
  std::string base = win::to_utf8(std::wstring_view(buf, n));
  if (!base.empty() && base.back() == '\\') base.pop_back();
  path_ = base + "\\sts-test-" + std::to_string(::GetCurrentProcessId()) + "-" + std::to_string(counter++);
  make_dir(path_);
}

namespace {
void remove_tree(const std::wstring& dir) {
  WIN32_FIND_DATAW fd;
  HANDLE h = ::FindFirstFileW((dir + L"\\*").c_str(), &fd);
  if (h != INVALID_HANDLE_VALUE) {
    do {
      std::wstring name = fd.cFileName;
      if (name == L"." || name == L"..") continue;
      std::wstring full = dir + L"\\" + name;
      if (fd.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) {
        remove_tree(full);
      } else {
        ::SetFileAttributesW(full.c_str(), FILE_ATTRIBUTE_NORMAL);
        ::DeleteFileW(full.c_str());
      }
    } while (::FindNextFileW(h, &fd));
    ::FindClose(h);
  }
  ::RemoveDirectoryW(dir.c_str());
}
}  // namespace

TempDir::~TempDir() { remove_tree(win::to_wide(path_)); }

bool set_sddl(const std::string& path, std::string sddl) {
  sddl = expand_user(std::move(sddl));
  PSECURITY_DESCRIPTOR sd = nullptr;
  std::wstring w = win::to_wide(sddl);
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(w.c_str(), SDDL_REVISION_1, &sd, nullptr)) return false;
  SECURITY_INFORMATION what = DACL_SECURITY_INFORMATION;
  if (sddl.rfind("O:", 0) == 0) what |= OWNER_SECURITY_INFORMATION;
  if (sddl.find("D:P") != std::string::npos) what |= PROTECTED_DACL_SECURITY_INFORMATION;
  BOOL ok = ::SetFileSecurityW(win::to_wide(path).c_str(), what, sd);
  ::LocalFree(sd);
  return ok != FALSE;
}

std::string get_sddl(const std::string& path) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  DWORD rc = ::GetNamedSecurityInfoW(win::to_wide(path).c_str(), SE_FILE_OBJECT,
                                     OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, nullptr, nullptr, nullptr,
                                     nullptr, &sd);
  if (rc != ERROR_SUCCESS) return "<error " + std::to_string(rc) + ">";
  wchar_t* text = nullptr;
  ::ConvertSecurityDescriptorToStringSecurityDescriptorW(sd, SDDL_REVISION_1,
                                                         OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &text, nullptr);
  std::string out = text ? win::to_utf8(text) : "";
  ::LocalFree(text);
  ::LocalFree(sd);
  return out;
}

void write_file(const std::string& path, std::string_view bytes) {
  HANDLE h = ::CreateFileW(win::to_wide(path).c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) throw std::runtime_error("cannot create " + path);
  DWORD n = 0;
  ::WriteFile(h, bytes.data(), static_cast<DWORD>(bytes.size()), &n, nullptr);
  ::CloseHandle(h);
}

void make_dir(const std::string& path) {
  if (!::CreateDirectoryW(win::to_wide(path).c_str(), nullptr) && ::GetLastError() != ERROR_ALREADY_EXISTS) {
    throw std::runtime_error("cannot create folder " + path);
  }
}

void copy_fake_backend(const std::string& path) {
  if (!::CopyFileW(win::to_wide(fake_backend_source()).c_str(), win::to_wide(path).c_str(), FALSE)) {
    throw std::runtime_error("cannot copy the fake backend from " + fake_backend_source() + " to " + path + ": " +
                             win::system_message(::GetLastError()));
  }
}

bool process_alive(unsigned long pid) {
  HANDLE h = ::OpenProcess(SYNCHRONIZE | PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pid);
  if (h == nullptr) return false;
  DWORD w = ::WaitForSingleObject(h, 0);
  ::CloseHandle(h);
  return w == WAIT_TIMEOUT;
}

}  // namespace sts::wintest
