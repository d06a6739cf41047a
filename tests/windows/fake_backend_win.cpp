// The fake secret backend for the Windows tests: one program, the mode is argv[1].
//   echo-request            answers {"h":{"value":"value-of-h"}} for every requested handle
//   answer-some             the same, but leaves out the handles that start with "missing"
//   hang                    sleeps forever
//   hang-with-grandchild    starts `hang` (inheriting stdout/stderr; first tries to break away
//                           from the job), prints "grandchild <pid> breakaway <0|1>" to stderr, hangs
//   daemonize               starts `hang` holding stdout, answers {"a":{"value":"x"}}, exits 0
//   flood-stdout / flood-stderr   writes without end
//   bad-json                prints {not json
//   exit-3                  exits with status 3
//   exit-status HEX         exits with that status (e.g. C0000005, an NTSTATUS)
//   print-env               prints its environment, one NAME=VALUE per line
//   print-args              prints argv[2..], one per line
//   check-handle N PATH     prints "leaked" if handle value N is open on PATH, else "clean"
#include <windows.h>

#include <cstdio>
#include <cwchar>
#include <string>

namespace {

void write(HANDLE h, const std::string& s) {
  DWORD n = 0;
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    if (!::WriteFile(h, p, static_cast<DWORD>(left), &n, nullptr)) return;
    p += n;
    left -= n;
  }
}
void out(const std::string& s) { write(::GetStdHandle(STD_OUTPUT_HANDLE), s); }
void err(const std::string& s) { write(::GetStdHandle(STD_ERROR_HANDLE), s); }

std::string utf8(const std::wstring& w) {
  if (w.empty()) return {};
  int n = ::WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), nullptr, 0, nullptr, nullptr);
  std::string s(static_cast<std::size_t>(n), '\0');
  ::WideCharToMultiByte(CP_UTF8, 0, w.data(), static_cast<int>(w.size()), s.data(), n, nullptr, nullptr);
  return s;
}

std::string read_stdin() {
  std::string all;
  char buf[65536];
  DWORD n = 0;
  while (::ReadFile(::GetStdHandle(STD_INPUT_HANDLE), buf, sizeof buf, &n, nullptr) && n > 0) all.append(buf, n);
  return all;
}

// Starts this program in `hang` mode, inheriting the standard handles.
DWORD start_hanging_child(bool try_breakaway, bool& broke_away) {
  wchar_t self[MAX_PATH];
  ::GetModuleFileNameW(nullptr, self, MAX_PATH);
  std::wstring cmd = L"\"" + std::wstring(self) + L"\" hang";
  STARTUPINFOW si{};
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = ::GetStdHandle(STD_INPUT_HANDLE);
  si.hStdOutput = ::GetStdHandle(STD_OUTPUT_HANDLE);
  si.hStdError = ::GetStdHandle(STD_ERROR_HANDLE);
  PROCESS_INFORMATION pi{};
  broke_away = false;
  if (try_breakaway &&
      ::CreateProcessW(self, cmd.data(), nullptr, nullptr, TRUE, CREATE_BREAKAWAY_FROM_JOB, nullptr, nullptr, &si, &pi)) {
    broke_away = true;
  } else if (!::CreateProcessW(self, cmd.data(), nullptr, nullptr, TRUE, 0, nullptr, nullptr, &si, &pi)) {
    return 0;
  }
  ::CloseHandle(pi.hThread);
  ::CloseHandle(pi.hProcess);
  return pi.dwProcessId;
}

}  // namespace

int wmain(int argc, wchar_t** argv) {
  std::wstring mode = argc > 1 ? argv[1] : L"";
  if (mode == L"echo-request" || mode == L"answer-some") {
    const bool skip_missing = mode == L"answer-some";
    std::string req = read_stdin();
    std::size_t at = req.find("\"secrets\"");
    std::string resp = "{";
    bool first = true;
    if (at != std::string::npos) {
      std::size_t end = req.find(']', at);
      std::size_t p = req.find('[', at) + 1;
      while (true) {
        std::size_t q1 = req.find('"', p);
        if (q1 == std::string::npos || q1 > end) break;
        std::size_t q2 = req.find('"', q1 + 1);
        std::string h = req.substr(q1 + 1, q2 - q1 - 1);
        p = q2 + 1;
        if (skip_missing && h.rfind("missing", 0) == 0) continue;
        resp += std::string(first ? "" : ",") + "\"" + h + "\":{\"value\":\"value-of-" + h + "\"}";
        first = false;
      }
    }
    out(resp + "}");
    return 0;
  }
  if (mode == L"hang") {
    ::Sleep(INFINITE);
    return 0;
  }
  if (mode == L"hang-with-grandchild") {
    bool broke = false;
    DWORD pid = start_hanging_child(true, broke);
    err("grandchild " + std::to_string(pid) + " breakaway " + (broke ? "1" : "0") + "\n");
    ::Sleep(INFINITE);
    return 0;
  }
  if (mode == L"daemonize") {
    bool broke = false;
    DWORD pid = start_hanging_child(false, broke);
    err("grandchild " + std::to_string(pid) + " breakaway 0\n");
    out("{\"a\":{\"value\":\"x\"}}");
    return 0;
  }
  if (mode == L"flood-stdout" || mode == L"flood-stderr") {
    std::string chunk(65536, 'x');
    HANDLE h = ::GetStdHandle(mode == L"flood-stdout" ? STD_OUTPUT_HANDLE : STD_ERROR_HANDLE);
    for (;;) {
      DWORD n = 0;
      if (!::WriteFile(h, chunk.data(), static_cast<DWORD>(chunk.size()), &n, nullptr)) return 1;
    }
  }
  if (mode == L"bad-json") {
    out("{not json");
    return 0;
  }
  if (mode == L"exit-3") {
    read_stdin();
    return 3;
  }
  if (mode == L"exit-status" && argc > 2) {
    read_stdin();
    ::ExitProcess(static_cast<UINT>(std::wcstoul(argv[2], nullptr, 16)));
  }
  if (mode == L"print-env") {
    wchar_t* block = ::GetEnvironmentStringsW();
    for (const wchar_t* p = block; *p != L'\0'; p += std::wcslen(p) + 1) out(utf8(p) + "\n");
    ::FreeEnvironmentStringsW(block);
    return 0;
  }
  if (mode == L"print-args") {
    for (int i = 2; i < argc; ++i) out(utf8(argv[i]) + "\n");
    return 0;
  }
  if (mode == L"check-handle" && argc > 3) {
    auto value = static_cast<std::uintptr_t>(std::wcstoull(argv[2], nullptr, 10));
    wchar_t buf[MAX_PATH * 2];
    DWORD n = ::GetFinalPathNameByHandleW(reinterpret_cast<HANDLE>(value), buf, MAX_PATH * 2, 0);
    std::wstring got = n > 0 ? std::wstring(buf, n) : L"";
    std::wstring want = argv[3];
    bool leaked = !got.empty() && got.size() >= want.size() &&
                  _wcsicmp(got.c_str() + (got.size() - want.size()), want.c_str()) == 0;
    out(leaked ? "leaked\n" : "clean\n");
    return 0;
  }
  err("fake_backend_win: unknown mode\n");
  return 2;
}
