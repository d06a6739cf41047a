// Command-line quoting and the start of a child in a kill-on-close job (child_process.h).
#if !defined(_WIN32)
#error "child_process.cpp is for Windows; CMake should have picked src/posix"
#endif

#include "windows/child_process.h"

#include <memory>
#include <vector>

namespace sts::win {
namespace {

// PROC_THREAD_ATTRIBUTE_LIST storage, deleted with the list.
class AttributeList {
 public:
  explicit AttributeList(DWORD count) {
    SIZE_T size = 0;
    ::InitializeProcThreadAttributeList(nullptr, count, 0, &size);
    storage_ = std::make_unique<unsigned char[]>(size);
    auto* list = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(storage_.get());
    if (::InitializeProcThreadAttributeList(list, count, 0, &size)) list_ = list;
  }
  ~AttributeList() {
    if (list_ != nullptr) ::DeleteProcThreadAttributeList(list_);
  }
  AttributeList(const AttributeList&) = delete;
  AttributeList& operator=(const AttributeList&) = delete;
  LPPROC_THREAD_ATTRIBUTE_LIST get() const { return list_; }

 private:
  std::unique_ptr<unsigned char[]> storage_;
  LPPROC_THREAD_ATTRIBUTE_LIST list_ = nullptr;
};

std::optional<StartFailure> failed(SpawnStage stage) { return StartFailure{stage, ::GetLastError()}; }

}  // namespace

void append_argument(std::wstring& cmd, std::wstring_view arg) {
  if (!cmd.empty()) cmd += L' ';
  if (!arg.empty() && arg.find_first_of(L" \t\n\v\"") == std::wstring_view::npos) {
    cmd += arg;
    return;
  }
  cmd += L'"';
  std::size_t backslashes = 0;
  for (wchar_t c : arg) {
    if (c == L'\\') {
      ++backslashes;
      continue;
    }
    // Backslashes are literal unless a quote follows: then each doubles and the quote is escaped.
    cmd.append(c == L'"' ? backslashes * 2 + 1 : backslashes, L'\\');
    backslashes = 0;
    cmd += c;
  }
  cmd.append(backslashes * 2, L'\\');  // before the closing quote
  cmd += L'"';
}

// Job assignment. Two ways avoid the window in which a child could start a grandchild outside
// the job (DESIGN pitfalls): PROC_THREAD_ATTRIBUTE_JOB_LIST (Windows 10 1607+; the process is
// born in the job) and CREATE_SUSPENDED followed by AssignProcessToJobObject before the first
// instruction runs. We do both: ask for the job list, always create suspended, and before
// resuming verify with IsProcessInJob, assigning it if the attribute was unsupported or
// ignored. So the child never runs outside the job on any Windows version, and under Wine
// (8.0 accepts the job-list attribute; assignment of a suspended process works too).
std::optional<StartFailure> start_in_job(const ChildSpec& spec, StartedChild& out) {
  ScopedHandle job(::CreateJobObjectW(nullptr, nullptr));
  if (!job.valid()) return failed(SpawnStage::containment);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  // Kill the whole tree when the last job handle closes (ours: also when the caller dies).
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE | JOB_OBJECT_LIMIT_DIE_ON_UNHANDLED_EXCEPTION;
  if (!::SetInformationJobObject(job.get(), JobObjectExtendedLimitInformation, &limits, sizeof limits)) {
    return failed(SpawnStage::containment);
  }

  AttributeList attrs(2);
  if (attrs.get() == nullptr) return failed(SpawnStage::attributes);
  std::vector<HANDLE> inherit;
  for (HANDLE h : spec.std_handles) {
    if (ScopedHandle::is_valid(h)) inherit.push_back(h);
  }
  if (!inherit.empty() && !::UpdateProcThreadAttribute(attrs.get(), 0, PROC_THREAD_ATTRIBUTE_HANDLE_LIST, inherit.data(),
                                                       inherit.size() * sizeof(HANDLE), nullptr, nullptr)) {
    return failed(SpawnStage::attributes);
  }
  HANDLE job_handle = job.get();
  (void)::UpdateProcThreadAttribute(attrs.get(), 0, PROC_THREAD_ATTRIBUTE_JOB_LIST, &job_handle, sizeof job_handle,
                                    nullptr, nullptr);

  STARTUPINFOEXW si{};
  si.StartupInfo.cb = sizeof si;
  si.StartupInfo.dwFlags = STARTF_USESTDHANDLES;
  si.StartupInfo.hStdInput = spec.std_handles[0];
  si.StartupInfo.hStdOutput = spec.std_handles[1];
  si.StartupInfo.hStdError = spec.std_handles[2];
  si.lpAttributeList = attrs.get();
  PROCESS_INFORMATION pi{};
  const DWORD flags = CREATE_SUSPENDED | CREATE_UNICODE_ENVIRONMENT | EXTENDED_STARTUPINFO_PRESENT | spec.extra_flags;
  // Handles are inherited only with bInheritHandles TRUE, and then only those of the list.
  if (!::CreateProcessW(spec.application.c_str(), spec.command_line.data(), nullptr, nullptr, inherit.empty() ? FALSE : TRUE,
                        flags, spec.environment != nullptr ? spec.environment->data() : nullptr, spec.directory,
                        &si.StartupInfo, &pi)) {
    return failed(SpawnStage::create_process);
  }
  ScopedHandle process(pi.hProcess);
  ScopedHandle thread(pi.hThread);
  BOOL in_job = FALSE;
  if (!::IsProcessInJob(process.get(), job.get(), &in_job) || !in_job) {
    if (!::AssignProcessToJobObject(job.get(), process.get())) {
      const DWORD e = ::GetLastError();
      ::TerminateProcess(process.get(), 1);
      return StartFailure{SpawnStage::containment, e};
    }
  }
  if (::ResumeThread(thread.get()) == static_cast<DWORD>(-1)) {
    const DWORD e = ::GetLastError();
    ::TerminateJobObject(job.get(), 1);
    return StartFailure{SpawnStage::resume, e};
  }
  out.job = std::move(job);
  out.process = std::move(process);
  out.pid = pi.dwProcessId;
  return std::nullopt;
}

}  // namespace sts::win
