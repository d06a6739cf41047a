// File: process_windows.cpp
//
// The hardened backend run on Windows (SPEC 4, process.h). Like process_posix.cpp it reports
// facts (a RunEnd); run_outcome.cpp words the errors for both platforms, and keeps the stderr
// tail (StderrTail).
//
// - What runs: lpApplicationName is the final path of the handle the check holds
//   (GetFinalPathNameByHandleW); the check's handle (share read only) stays open until
//   CreateProcessW has returned, so the file cannot be replaced in between. No PATH search,
//   no shell, never a script (the check refuses them).
// - What it inherits: bInheritHandles is TRUE but PROC_THREAD_ATTRIBUTE_HANDLE_LIST limits
//   inheritance to the three pipe ends, which must themselves be inheritable.
// - Environment: CREATE_UNICODE_ENVIRONMENT with the minimal block of child_environment().
// - Containment: a job object with KILL_ON_JOB_CLOSE, the child born suspended in it
//   (child_process.h, shared with sts::run_command).
// - I/O: the parent's ends are overlapped named pipes served from this thread with one
//   WaitForMultipleObjects loop, so stdin is written while stdout and stderr are read (no
//   deadlock when both exceed the pipe buffer), caps are enforced as bytes arrive, and the
//   deadline bounds the reads too: a grandchild holding stdout cannot block us, because at the
//   deadline the whole job is terminated and pending I/O is cancelled.
#if !defined(_WIN32)
#error "process_windows.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "common/process.h"
#include "common/platform_names.h"
#include "common/run_outcome.h"
#include "common/text.h"

#include "windows/child_process.h"
#include "windows/owner_only.h"
#include "windows/scoped_handle.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"

#include <windows.h>
#include <bcrypt.h>

#include <algorithm>
#include <atomic>
#include <iterator>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace sts {
namespace {

using win::ScopedHandle;
using Clock = std::chrono::steady_clock;

constexpr DWORD kPipeBuffer = 64 * 1024;
constexpr std::chrono::milliseconds kExitGrace{2000};

std::string system_root() {
  wchar_t buf[MAX_PATH];
  UINT n = ::GetSystemWindowsDirectoryW(buf, MAX_PATH);
  if (n == 0 || n >= MAX_PATH) return "C:\\Windows";
  return win::to_utf8(std::wstring_view(buf, n));
}

std::string temp_dir() {
  wchar_t buf[MAX_PATH + 1];
  DWORD n = ::GetTempPathW(MAX_PATH + 1, buf);
  if (n == 0 || n > MAX_PATH) return system_root() + "\\Temp";
  std::wstring t(buf, n);
  if (t.size() > 3 && t.back() == L'\\') t.pop_back();
  return win::to_utf8(t);
}

std::wstring random_suffix() {
  unsigned char bytes[8] = {};
  ::BCryptGenRandom(nullptr, bytes, sizeof bytes, BCRYPT_USE_SYSTEM_PREFERRED_RNG);
  static constexpr wchar_t kHex[] = L"0123456789abcdef";
  std::wstring out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

// One overlapped named pipe: our end (server, overlapped, not inheritable) and the child's end
// (client, synchronous, inheritable: a handle in PROC_THREAD_ATTRIBUTE_HANDLE_LIST must be).
struct PipePair {
  ScopedHandle ours;
  ScopedHandle theirs;
};

// Returns false (GetLastError() says why) when a pipe cannot be made.
bool make_pipe(bool child_reads, const SECURITY_ATTRIBUTES* owner_only, PipePair& p) {
  static std::atomic<unsigned> counter{0};
  std::wstring name = L"\\\\.\\pipe\\stsecrets-" + std::to_wstring(::GetCurrentProcessId()) + L"-" +
                      std::to_wstring(counter++) + L"-" + random_suffix();
  // One instance, first instance, local clients only, owner-only DACL: nobody else can connect
  // before the child's end does (if someone did, opening the child's end fails and so does the run).
  DWORD open_mode = (child_reads ? PIPE_ACCESS_OUTBOUND : PIPE_ACCESS_INBOUND) | FILE_FLAG_OVERLAPPED |
                    FILE_FLAG_FIRST_PIPE_INSTANCE;
  p.ours.reset(::CreateNamedPipeW(name.c_str(), open_mode,
                                  PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1,
                                  kPipeBuffer, kPipeBuffer, 0, const_cast<SECURITY_ATTRIBUTES*>(owner_only)));
  if (!p.ours.valid()) return false;
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  p.theirs.reset(::CreateFileW(name.c_str(), child_reads ? GENERIC_READ : GENERIC_WRITE, 0, &inherit, OPEN_EXISTING,
                               FILE_ATTRIBUTE_NORMAL, nullptr));
  return p.theirs.valid();
}

// Overlapped I/O state of one stream of ours.
struct Stream {
  ScopedHandle pipe;
  ScopedHandle event{::CreateEventW(nullptr, TRUE, FALSE, nullptr)};
  OVERLAPPED ov{};
  bool pending = false;
  bool open = true;

  void cancel_and_wait() noexcept {
    if (!pending) return;
    ::CancelIoEx(pipe.get(), &ov);
    DWORD n = 0;
    ::GetOverlappedResult(pipe.get(), &ov, &n, TRUE);
    pending = false;
  }
};

class Run {
 public:
  explicit Run(const RunOptions& options) : o_(options) {}
  ~Run() {
    // Never leave I/O pending on buffers that are about to go, nor a process behind.
    for (Stream* s : {&in_, &out_, &err_}) s->cancel_and_wait();
    if (job_.valid()) ::TerminateJobObject(job_.get(), 1);
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;

  RunEnd run() {
    started_ = Clock::now();
    end_.containment = ContainmentKind::job_object;
    if (start()) pump();
    end_.duration = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started_);
    end_.stderr_tail = tail_.take();
    return std::move(end_);
  }

 private:
  // Records a failure to start: the stage and GetLastError(). Returns false for `return`.
  bool spawn_failed(SpawnStage stage, DWORD error) {
    end_.how = RunEndHow::spawn_failed;
    end_.stage = stage;
    end_.os_error = static_cast<int>(error);
    return false;
  }

  bool start() {
    HANDLE held = reinterpret_cast<HANDLE>(o_.executable->native());
    wchar_t buf[MAX_PATH * 4];
    DWORD n = ::GetFinalPathNameByHandleW(held, buf, static_cast<DWORD>(std::size(buf)), FILE_NAME_NORMALIZED | VOLUME_NAME_DOS);
    if (n == 0 || n >= std::size(buf)) return spawn_failed(SpawnStage::executable_path, ::GetLastError());
    std::wstring app(buf, n);
    // "\\?\C:\..." -> "C:\..." when short enough: some loaders (and Wine) want a plain path.
    if (app.rfind(L"\\\\?\\", 0) == 0 && app.size() > 6 && app[5] == L':' && app.size() - 4 < MAX_PATH) app = app.substr(4);

    std::wstring cmd;
    win::append_argument(cmd, app);
    for (const std::string& a : o_.arguments) win::append_argument(cmd, win::to_wide(a));

    Environment own;
    const Environment* caller = o_.caller_environment;
    if (caller == nullptr) {
      own = current_environment();
      caller = &own;
    }
    std::wstring env_block;
    for (const std::string& kv : platform::child_environment(o_.environment_allow, *caller)) {
      env_block += win::to_wide(kv);
      env_block += L'\0';
    }
    env_block += L'\0';

    // Our pipe ends: owner-only DACL (without one, the default DACL of the token applies).
    win::OwnerOnlyAttributes owner_only;
    PipePair in, out, err;
    if (!make_pipe(true, owner_only.get(), in) || !make_pipe(false, owner_only.get(), out) ||
        !make_pipe(false, owner_only.get(), err)) {
      return spawn_failed(SpawnStage::pipes, ::GetLastError());
    }
    in_.pipe = std::move(in.ours);
    out_.pipe = std::move(out.ours);
    err_.pipe = std::move(err.ours);

    if (!start_in_job(app, cmd, env_block, in.theirs.get(), out.theirs.get(), err.theirs.get())) return false;
    // The child has its copies; ours must go, or we would never see EOF.
    in.theirs.reset();
    out.theirs.reset();
    err.theirs.reset();
    return true;
  }

  // The child starts suspended in a fresh kill-on-close job, inheriting only its three pipe
  // ends (child_process.h). Its working folder is the backend's own (checked) folder, not the
  // caller's.
  bool start_in_job(const std::wstring& app, std::wstring& cmd, std::wstring& env_block, HANDLE child_in,
                    HANDLE child_out, HANDLE child_err) {
    std::wstring cwd = app.substr(0, app.find_last_of(L'\\'));
    if (cwd.size() == 2) cwd += L'\\';
    const win::ChildSpec spec{app, cmd, &env_block, cwd.c_str(), {child_in, child_out, child_err}, CREATE_NO_WINDOW};
    win::StartedChild child;
    if (const auto failure = win::start_in_job(spec, child)) return spawn_failed(failure->stage, failure->error);
    job_ = std::move(child.job);
    process_ = std::move(child.process);
    return true;
  }

  void start_read(Stream& s, SecureBuffer& scratch) {
    if (!s.open || s.pending) return;
    s.ov = OVERLAPPED{};
    s.ov.hEvent = s.event.get();
    ::ResetEvent(s.event.get());
    if (!::ReadFile(s.pipe.get(), scratch.spare(),
                    static_cast<DWORD>(kPipeBuffer), nullptr, &s.ov)) {
      DWORD e = ::GetLastError();
      if (e != ERROR_IO_PENDING) {
        s.open = false;  // ERROR_BROKEN_PIPE: the writers are gone
        return;
      }
    }
    s.pending = true;  // completes through the event, also when ReadFile finished at once
  }

  void start_write() {
    in_.ov = OVERLAPPED{};
    in_.ov.hEvent = in_.event.get();
    ::ResetEvent(in_.event.get());
    std::string_view rest = o_.input.substr(written_);
    DWORD chunk = static_cast<DWORD>(std::min<std::size_t>(rest.size(), 1u << 20));
    if (!::WriteFile(in_.pipe.get(), rest.data(), chunk, nullptr, &in_.ov) && ::GetLastError() != ERROR_IO_PENDING) {
      close_stdin();  // the child closed stdin early: not our error (SPEC 4)
      return;
    }
    in_.pending = true;
  }

  void close_stdin() {
    in_.pending = false;
    in_.open = false;
    in_.pipe.reset();
  }

  // Takes n bytes just read into `scratch`; returns false when the stream went over the cap.
  bool take(SecureBuffer& scratch, DWORD n, bool is_stdout) {
    std::string_view bytes(scratch.spare(), n);
    std::size_t& total = is_stdout ? end_.stdout_bytes : end_.stderr_bytes;
    total += n;
    if (is_stdout) {
      if (total <= o_.output_max_size) end_.out.append(bytes);
    } else {
      tail_.append(bytes);
    }
    secure_zero(scratch.spare(), n);  // the pipe read buffers may carry secrets (SPEC 6)
    return total <= o_.output_max_size;
  }

  // Ends the pump: the job is killed unless the backend exited by itself, pending I/O is
  // cancelled, and the exit status is collected.
  void settle(bool exited) {
    if (!exited || end_.how == RunEndHow::output_capped) ::TerminateJobObject(job_.get(), 1);
    for (Stream* s : {&in_, &out_, &err_}) s->cancel_and_wait();
    if (!exited) ::WaitForSingleObject(process_.get(), static_cast<DWORD>(kExitGrace.count()));
    DWORD code = 0;
    ::GetExitCodeProcess(process_.get(), &code);
    end_.exit_code = static_cast<int>(code);
    end_.exit_code_is_ntstatus = code >= 0xC0000000u;
  }

  // One overlapped operation of `s` completed: the request went further, or output arrived
  // (or ended). False when the output went over its cap (the run ends).
  bool completed(Stream& s, SecureBuffer& out_scratch, SecureBuffer& err_scratch) {
    DWORD n = 0;
    const BOOL done = ::GetOverlappedResult(s.pipe.get(), &s.ov, &n, FALSE);
    s.pending = false;
    if (&s == &in_) {
      if (!done) {
        close_stdin();
        return true;
      }
      written_ += n;
      if (written_ >= o_.input.size()) {
        close_stdin();  // EOF for the backend
      } else {
        start_write();
      }
      return true;
    }
    const bool is_stdout = &s == &out_;
    SecureBuffer& scratch = is_stdout ? out_scratch : err_scratch;
    if (!done) {
      s.open = false;  // ERROR_BROKEN_PIPE: EOF
      return true;
    }
    if (!take(scratch, n, is_stdout)) {
      end_.how = RunEndHow::output_capped;
      end_.capped = is_stdout ? OutputStream::stdout_stream : OutputStream::stderr_stream;
      return false;
    }
    start_read(s, scratch);
    return true;
  }

  void pump() {
    // The pipe read buffers live in the locked arena and are zeroed after every read (SPEC 6).
    SecureBuffer out_scratch;
    SecureBuffer err_scratch;
    out_scratch.reserve(kPipeBuffer);
    err_scratch.reserve(kPipeBuffer);
    const auto deadline = started_ + o_.timeout;

    if (o_.input.empty()) {
      close_stdin();
    } else {
      start_write();
    }
    start_read(out_, out_scratch);
    start_read(err_, err_scratch);

    bool exited = false;
    end_.how = RunEndHow::exited;
    while (true) {
      if (exited && !out_.open && !err_.open) break;
      HANDLE waits[4];
      Stream* owners[4] = {};
      DWORD count = 0;
      if (!exited) waits[count++] = process_.get();
      for (Stream* s : {&out_, &err_, &in_}) {
        if (s->pending) {
          owners[count] = s;
          waits[count++] = s->event.get();
        }
      }
      auto now = Clock::now();
      if (now >= deadline || count == 0) break;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count() + 1;
      DWORD w = ::WaitForMultipleObjects(count, waits, FALSE, static_cast<DWORD>(left));
      if (w == WAIT_TIMEOUT) break;
      if (w >= WAIT_OBJECT_0 + count) {
        end_.how = RunEndHow::lost;
        end_.stage = SpawnStage::wait;
        end_.os_error = static_cast<int>(::GetLastError());
        settle(false);
        return;
      }
      DWORD i = w - WAIT_OBJECT_0;
      if (owners[i] == nullptr) {
        // The backend itself exited. Anything it left behind in the job (a daemonized
        // grandchild still holding stdout) dies now; the pipes then drain to EOF.
        exited = true;
        ::TerminateJobObject(job_.get(), 0);
        continue;
      }
      if (!completed(*owners[i], out_scratch, err_scratch)) break;   // a stream hit its cap
    }
    // Out of the loop without the backend's exit and its pipes' end: the deadline passed.
    if (end_.how == RunEndHow::exited && (!exited || out_.open || err_.open)) end_.how = RunEndHow::timed_out;
    settle(exited);
  }

  const RunOptions& o_;
  RunEnd end_;
  StderrTail tail_;
  Clock::time_point started_;
  ScopedHandle job_;
  ScopedHandle process_;
  Stream in_;
  Stream out_;
  Stream err_;
  std::size_t written_ = 0;
};

Containment job_object_containment() {
  return {ContainmentKind::job_object, "job-object",
          "the backend runs in a job object created with it (KILL_ON_JOB_CLOSE, no breakaway): the whole tree is "
          "killed at the timeout, when the backend exits, and when the caller exits, even when it is killed",
          ""};
}

}  // namespace

std::vector<std::string> platform::child_environment(const std::vector<std::string>& allow, const Environment& caller) {
  // name (upper-case key) -> NAME=VALUE. System values come from the system, not from the
  // caller's environment; the caller's allow-list may override them deliberately.
  std::map<std::string, std::string> block;
  const std::string root = system_root();
  const std::string drive = root.size() >= 2 ? root.substr(0, 2) : std::string("C:");
  auto put = [&](const std::string& n, const std::string& v) { block[ascii_upper(n)] = n + "=" + v; };
  put("SystemRoot", root);
  put("SystemDrive", drive);
  const std::string* temp = find_env(caller, "TEMP");
  const std::string* tmp = find_env(caller, "TMP");
  std::string fallback = temp_dir();
  put("TEMP", temp != nullptr ? *temp : fallback);
  put("TMP", tmp != nullptr ? *tmp : (temp != nullptr ? *temp : fallback));
  put("PATH", root + "\\system32;" + root + ";" + root + "\\System32\\Wbem");
  for (const std::string& name : allow) {
    if (name.empty() || name.find('=') != std::string::npos) continue;
    if (const auto* kv = find_env_entry(caller, name)) put(kv->first, kv->second);
  }
  // CreateProcess wants the block sorted by upper-case name; the map already is.
  std::vector<std::string> out;
  out.reserve(block.size());
  for (auto& [k, kv] : block) out.push_back(std::move(kv));
  return out;
}

RunEnd platform::run_process(const RunOptions& options) {
  if (options.executable == nullptr || !options.executable->valid()) {
    RunEnd end;
    end.how = RunEndHow::spawn_failed;
    end.os_error = ERROR_INVALID_HANDLE;
    return end;
  }
  return Run(options).run();
}

Containment platform::containment() { return job_object_containment(); }

std::string platform::os_error_text(int error) { return win::system_message(static_cast<unsigned long>(error)); }

std::string platform::signal_name(int signal) { return "signal " + std::to_string(signal); }

}  // namespace sts
