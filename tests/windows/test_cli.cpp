// stsecrets.exe end to end under Wine (SPEC 7 on Windows): every command as an operator runs it,
// through CreateProcessW with files for stdin, stdout and stderr, and the exit codes of Linux,
// each reached by a real scenario:
//   0 a mingw-built backend in a folder with a correct DACL resolves;
//   2 bad usage, a .bat COMMAND for exec, no such COMMAND, an --output-dir Everyone may add files to;
//   3 a .bat backend, a backend others may read (golden check output);
//   4 a hanging backend killed with its grandchild by the job at the deadline, a bad response;
//   5 a handle the backend does not answer (nothing written).
// Also: exec (resolved variables, sorted block, PATH/PATHEXT, the exit code), helper read-file
// (hostile names refused per handle), UTF-8 arguments and paths, owner-only output files, the
// default config (%STS_CONFIG%, %ProgramData%), "\n" line ends on stdout and stderr.
#include "stsecrets/config.h"
#include "windows/child_process.h"
#include "windows/security_descriptor.h"
#include "windows/wide_string.h"
#include "win_test_support.h"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <windows.h>
#include <tlhelp32.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

using namespace sts;
using namespace sts::wintest;
using namespace std::chrono_literals;

namespace {

std::string windows_path(std::string p) {
  if (!p.empty() && p[0] == '/') {
    for (auto& c : p) c = c == '/' ? '\\' : c;
    p = "Z:" + p;
  }
  return p;
}

const std::string& cli() {
  static const std::string path = windows_path(STS_CLI_WIN_PATH);
  return path;
}

std::string read_all(const std::string& path) {
  const HANDLE h = ::CreateFileW(win::to_wide(path).c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, nullptr,
                                 OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (h == INVALID_HANDLE_VALUE) return {};
  std::string out;
  char buf[65536];
  DWORD n = 0;
  while (::ReadFile(h, buf, sizeof buf, &n, nullptr) && n > 0) out.append(buf, n);
  ::CloseHandle(h);
  return out;
}

bool exists(const std::string& path) { return ::GetFileAttributesW(win::to_wide(path).c_str()) != INVALID_FILE_ATTRIBUTES; }

struct CliRun {
  DWORD exit_code = 0;
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

// The test's own environment without STS_* (any case), plus `extra` (replacing any spelling).
std::wstring environment_for(const Environment& extra) {
  std::map<std::string, std::string> merged;   // upper-case name -> NAME=VALUE
  for (const auto& [name, value] : current_environment()) {
    const std::string upper = [&] {
      std::string u = name;
      for (auto& c : u) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
      return u;
    }();
    if (upper.rfind("STS_", 0) == 0) continue;
    merged[upper] = name + "=" + value;
  }
  for (const auto& [name, value] : extra) {
    std::string upper = name;
    for (auto& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    merged[upper] = name + "=" + value;
  }
  std::wstring block;
  for (const auto& [upper, entry] : merged) {
    block += win::to_wide(entry);
    block += L'\0';
  }
  block += L'\0';
  return block;
}

// Runs stsecrets.exe with args; stdin from `input`, stdout and stderr into files. The whole run is
// bounded (60 s): a hang fails the test instead of blocking ctest.
CliRun run_cli(const std::vector<std::string>& args, const Environment& extra_env = {}, std::string_view input = {}) {
  TempDir io;
  write_file(io / "in", input);
  SECURITY_ATTRIBUTES inherit{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};
  auto open = [&](const std::string& p, bool write) {
    return ::CreateFileW(win::to_wide(p).c_str(), write ? GENERIC_WRITE : GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE,
                         &inherit, write ? CREATE_ALWAYS : OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  };
  win::ScopedHandle in(open(io / "in", false));
  win::ScopedHandle out(open(io / "out", true));
  win::ScopedHandle err(open(io / "err", true));
  REQUIRE((in.valid() && out.valid() && err.valid()));

  std::wstring cmd;
  win::append_argument(cmd, win::to_wide(cli()));
  for (const auto& a : args) win::append_argument(cmd, win::to_wide(a));
  std::wstring env = environment_for(extra_env);
  STARTUPINFOW si{};
  si.cb = sizeof si;
  si.dwFlags = STARTF_USESTDHANDLES;
  si.hStdInput = in.get();
  si.hStdOutput = out.get();
  si.hStdError = err.get();
  PROCESS_INFORMATION pi{};
  const auto start = std::chrono::steady_clock::now();
  const std::wstring app = win::to_wide(cli());
  REQUIRE(::CreateProcessW(app.c_str(), cmd.data(), nullptr, nullptr, TRUE, CREATE_UNICODE_ENVIRONMENT, env.data(),
                           nullptr, &si, &pi));
  win::ScopedHandle process(pi.hProcess);
  win::ScopedHandle thread(pi.hThread);
  const DWORD waited = ::WaitForSingleObject(process.get(), 60000);
  if (waited != WAIT_OBJECT_0) ::TerminateProcess(process.get(), 99);
  REQUIRE(waited == WAIT_OBJECT_0);
  CliRun r;
  r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
  ::GetExitCodeProcess(process.get(), &r.exit_code);
  in.reset();
  out.reset();
  err.reset();
  r.out = read_all(io / "out");
  r.err = read_all(io / "err");
  return r;
}

// A backend folder and config the checks accept: the folder and the copied fake backend give
// rights to the current user (and SYSTEM) only, the config to the current user only.
struct Setup {
  TempDir dir;
  std::string backend_dir = dir / "backend";
  std::string exe = backend_dir + "\\fake-backend.exe";
  std::string config = dir / "stackstate.yaml";

  Setup() {
    REQUIRE(set_sddl(dir.path(), "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)"));
    make_dir(backend_dir);
    REQUIRE(set_sddl(backend_dir, "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)"));   // not left to the umask
    copy_fake_backend(exe);
    REQUIRE(set_sddl(exe, "D:P(A;;FA;;;{U})"));
  }
  // The main config: the backend with `arguments`, and `body` below it.
  void write_config(const std::string& arguments, const std::string& body = "password: ENC[db_pass]\n",
                    const std::string& extra_settings = "") {
    write_file(config, "secret_backend_command: '" + exe + "'\nsecret_backend_arguments: " + arguments +
                           "\nsecret_backend_timeout: 20\n" + extra_settings + body);
    REQUIRE(set_sddl(config, "D:P(A;;FA;;;{U})"));
  }
};

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  if (from.empty()) return text;
  for (std::size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) text.replace(at, from.size(), to);
  return text;
}

// check output without what differs per run: the test folder, the user, the SHA-256.
// The Windows temp folder without its trailing backslash ("C:\users\NAME\Temp" under Wine).
std::string temp_folder() {
  wchar_t buf[MAX_PATH + 1];
  const DWORD n = ::GetTempPathW(MAX_PATH + 1, buf);
  std::string t = win::to_utf8(std::wstring_view(buf, n));
  if (!t.empty() && t.back() == '\\') t.pop_back();
  return t;
}

std::string normalized(std::string text, const Setup& s) {
  const std::string user = win::current_user_sid();
  const std::string temp = temp_folder();
  text = replace_all(std::move(text), s.dir.path(), "<DIR>");
  text = replace_all(std::move(text), temp, "<TEMP>");
  // The profile folder above it names the Unix user Wine runs as.
  if (const auto cut = temp.find_last_of('\\'); cut != std::string::npos && cut > 3) {
    text = replace_all(std::move(text), temp.substr(0, cut) + "\\", "<PROFILE>\\");
    text = replace_all(std::move(text), temp.substr(0, cut) + ":", "<PROFILE>:");
  }
  text = replace_all(std::move(text), win::account_text(user), "<USER>");
  text = replace_all(std::move(text), user, "<USER-SID>");
  for (std::size_t at = 0; (at = text.find("sha256:", at)) != std::string::npos;) {
    const std::size_t hex = text.find_first_not_of(' ', at + 7);
    if (hex != std::string::npos && text.size() >= hex + 64) text.replace(hex, 64, "<SHA256>");
    at += 7;
  }
  return text;
}

// Compares with tests/windows/golden/NAME; STS_UPDATE_GOLDEN=1 rewrites it instead.
void check_golden(const std::string& name, const std::string& actual) {
  const std::string path = windows_path(std::string(STS_WIN_GOLDEN_DIR) + "/" + name);
  if (const char* update = std::getenv("STS_UPDATE_GOLDEN"); update != nullptr && std::string(update) == "1") {
    write_file(path, actual);
    WARN("rewrote " << path);
    return;
  }
  const std::string expected = read_all(path);
  INFO("golden " << path << " (STS_UPDATE_GOLDEN=1 rewrites it)");
  CHECK(actual == expected);
}

// Every process whose image is `exe_name` (as Toolhelp reports it).
std::vector<DWORD> processes_named(const std::string& exe_name) {
  std::vector<DWORD> pids;
  const HANDLE snap = ::CreateToolhelp32Snapshot(TH32CS_SNAPPROCESS, 0);
  if (snap == INVALID_HANDLE_VALUE) return pids;
  PROCESSENTRY32W entry{};
  entry.dwSize = sizeof entry;
  for (BOOL more = ::Process32FirstW(snap, &entry); more; more = ::Process32NextW(snap, &entry)) {
    if (_wcsicmp(entry.szExeFile, win::to_wide(exe_name).c_str()) == 0) pids.push_back(entry.th32ProcessID);
  }
  ::CloseHandle(snap);
  return pids;
}

// True when the process has ended or ends within `bound` by itself (a wait on its handle, not a
// sleep): the job has already killed it, possibly a moment ago.
bool ends_within(DWORD pid, DWORD bound_ms) {
  const HANDLE h = ::OpenProcess(SYNCHRONIZE, FALSE, pid);
  if (h == nullptr) return true;   // gone
  const DWORD w = ::WaitForSingleObject(h, bound_ms);
  ::CloseHandle(h);
  return w == WAIT_OBJECT_0;
}

// Whether path gives rights to the current user alone. Wine (on this file system) keeps no
// security descriptor: it derives one from the Unix mode, with a full-control entry for SYSTEM
// and without the protected flag, so what can be seen here is that no other principal (Everyone,
// from a group or other mode bit) has an entry. The descriptor stsecrets passes is tested as
// such in test_host ("owner-only attributes").
bool owner_only(const std::string& path) {
  auto info = win::parse_sddl(win::to_wide(get_sddl(path)));
  if (!info || info->null_dacl) return false;
  const std::string user = win::current_user_sid();
  bool user_entry = false;
  for (const auto& ace : info->aces) {
    if (!ace.allow() || (ace.sid != user && ace.sid != "S-1-5-18")) return false;
    user_entry = user_entry || ace.sid == user;
  }
  return user_entry;
}

}  // namespace

// ---- 0: resolve, check ----------------------------------------------------------------------

TEST_CASE("resolve: a mingw-built backend in a folder with a correct DACL resolves, exit 0", "[cli][resolve]") {
  Setup s;
  s.write_config("[echo-request]", "instances:\n  - host: db\n    password: ENC[db_pass]\n");
  const CliRun r = run_cli({"resolve", "--config", s.config});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("instances:\n  - host: db\n    password: \"value-of-db_pass\"\n"));
  CHECK(r.out.find('\r') == std::string::npos);   // binary stdout: no "\r\n"
  CHECK(r.err.empty());
  const CliRun j = run_cli({"resolve", "--config", s.config, "--json"});
  CHECK(j.exit_code == 0);
  CHECK(nlohmann::json::parse(j.out).at("instances").at(0).at("password") == "value-of-db_pass");
}

TEST_CASE("check --fetch: the walkthrough's last step prints OK for every rule and handle", "[cli][check]") {
  Setup s;
  s.write_config("[echo-request]");
  const CliRun r = run_cli({"check", "--config", s.config, "--fetch"});
  INFO("stdout: " << r.out << "\nstderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("  OK    db_pass ("));
  CHECK_THAT(r.out, Catch::EndsWith("result:   OK\n"));
  CHECK(r.out.find("FAIL") == std::string::npos);
}

TEST_CASE("check: golden output for an accepted backend", "[cli][check][golden]") {
  Setup s;
  s.write_config("[echo-request]");
  const CliRun r = run_cli({"check", "--config", s.config});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  check_golden("check_ok.txt", normalized(r.out, s));
}

TEST_CASE("check: golden output for a backend that Everyone may read, exit 3 with the icacls fix", "[cli][check][golden]") {
  Setup s;
  s.write_config("[echo-request]");
  REQUIRE(set_sddl(s.exe, "D:P(A;;FA;;;{U})(A;;FR;;;WD)"));
  const CliRun r = run_cli({"check", "--config", s.config});
  CHECK(r.exit_code == 3);
  check_golden("check_rejected.txt", normalized(r.out, s));
  CHECK_THAT(r.err, Catch::StartsWith("stsecrets: error: backend " + s.exe + " allows Everyone (S-1-1-0) read"));
  CHECK_THAT(r.err, Catch::Contains("run icacls \"" + s.exe + "\" /remove:g *S-1-1-0"));
}

TEST_CASE("check --json: Windows fills owner and acl, and leaves group and mode empty", "[cli][check]") {
  Setup s;
  s.write_config("[echo-request]");
  const CliRun r = run_cli({"check", "--config", s.config, "--json"});
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  const auto& b = j.at("backends").at(0);
  CHECK(b.at("path") == s.exe);
  CHECK(b.at("owner").get<std::string>().find(win::current_user_sid()) != std::string::npos);
  // The file's entries in words: the user's (and the SYSTEM entry Wine adds; see owner_only()).
  const std::string user_line = win::account_text(win::current_user_sid()) + ": allow full control";
  CHECK(std::count(b.at("acl").begin(), b.at("acl").end(), user_line) == 1);
  CHECK(b.at("group") == "");
  CHECK(b.at("mode") == "");
  CHECK(b.at("sha256").get<std::string>().size() == 64);
  CHECK(j.at("containment").at("name") == "job-object");
  CHECK(j.at("result").at("exit_code") == 0);
}

// ---- 2: usage ---------------------------------------------------------------------------------

TEST_CASE("bad usage is exit 2 with one error line", "[cli][usage]") {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"resolve", "-o", "a.yaml", "--output-dir", "out"}, {"frobnicate"}, {"check", "--no-such-option"}}) {
    INFO(args.front());
    const CliRun r = run_cli(args);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::StartsWith("stsecrets: error: "));
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK(r.err.find('\r') == std::string::npos);
    CHECK(r.out.empty());
  }
}

// ---- 3: rejected --------------------------------------------------------------------------------

TEST_CASE("a .bat backend is refused before it runs, exit 3", "[cli][rejected]") {
  Setup s;
  const std::string bat = s.backend_dir + "\\backend.bat";
  write_file(bat, "@echo {\"db_pass\":{\"value\":\"from-bat\"}}\r\n");
  REQUIRE(set_sddl(bat, "D:P(A;;FA;;;{U})"));
  write_file(s.config, "secret_backend_command: '" + bat + "'\npassword: ENC[db_pass]\n");
  REQUIRE(set_sddl(s.config, "D:P(A;;FA;;;{U})"));
  const CliRun r = run_cli({"resolve", "--config", s.config});
  CHECK(r.exit_code == 3);
  CHECK_THAT(r.err, Catch::Contains("backend " + bat + " is a script (.bat)"));
  CHECK_THAT(r.err, Catch::Contains("wrap it in an .exe"));
  CHECK(r.out.find("from-bat") == std::string::npos);
}

// ---- 4: the run failed ----------------------------------------------------------------------------

TEST_CASE("a hanging backend and its grandchild are killed by the job at the deadline, exit 4", "[cli][timeout]") {
  Setup s;
  // A name of its own, so the processes of this run can be found by image name afterwards.
  const std::string name = "hang-backend-" + std::to_string(::GetCurrentProcessId()) + ".exe";
  const std::string exe = s.backend_dir + "\\" + name;
  copy_fake_backend(exe);
  REQUIRE(set_sddl(exe, "D:P(A;;FA;;;{U})"));
  write_file(s.config, "secret_backend_command: '" + exe + "'\nsecret_backend_arguments: [hang-with-grandchild]\n"
                       "secret_backend_timeout: 1\npassword: ENC[db_pass]\n");
  REQUIRE(set_sddl(s.config, "D:P(A;;FA;;;{U})"));
  // What starting stsecrets.exe itself costs under Wine here, measured, not guessed.
  const CliRun baseline = run_cli({"--version"});
  const CliRun r = run_cli({"resolve", "--config", s.config});
  INFO("stderr: " << r.err << "; elapsed " << r.elapsed.count() << " ms, start-up " << baseline.elapsed.count() << " ms");
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.err, Catch::Contains("backend " + exe + " did not answer within 1s"));
  // SPEC 4: back within timeout + 2 s although the grandchild holds stdout open; plus the
  // start-up of stsecrets.exe, and 2 s for a loaded machine.
  CHECK(r.elapsed < 1000ms + 2000ms + baseline.elapsed + 2000ms);
  // Nothing of the run is left: every process of that image ends by itself (already killed).
  for (const DWORD pid : processes_named(name)) {
    INFO("pid " << pid);
    CHECK(ends_within(pid, 10000));
  }
  CHECK(processes_named(name).empty());
}

TEST_CASE("a response that is not JSON fails the run, exit 4", "[cli][response]") {
  Setup s;
  s.write_config("[bad-json]");
  const CliRun r = run_cli({"resolve", "--config", s.config});
  CHECK(r.exit_code == 4);
  CHECK_THAT(r.err, Catch::Contains("is not valid JSON (byte"));
  CHECK(r.out.empty());
}

// ---- 5: a handle failed -----------------------------------------------------------------------------

TEST_CASE("a handle the backend leaves out is exit 5, and nothing is written", "[cli][handles]") {
  Setup s;
  s.write_config("[answer-some]", "password: ENC[db_pass]\ntoken: ENC[missing_token]\n");
  const std::string out = s.dir / "out.yaml";
  const CliRun r = run_cli({"resolve", "--config", s.config, "-o", out});
  CHECK(r.exit_code == 5);
  CHECK_THAT(r.err, Catch::Contains("missing_token"));
  CHECK_THAT(r.err, Catch::Contains("missing from the response"));
  CHECK(r.err.find("db_pass") == std::string::npos);
  CHECK_FALSE(exists(out));
}

// ---- exec -------------------------------------------------------------------------------------------

TEST_CASE("exec: COMMAND sees the resolved variables in a sorted block, and its exit code comes back", "[cli][exec]") {
  Setup s;
  s.write_config("[echo-request]", "");
  SECTION("print-env") {
    const CliRun r = run_cli({"exec", "--config", s.config, "--", s.exe, "print-env"},
                             {{"DB_PASSWORD", "ENC[db_pass]"}, {"plain", "text"}, {"zeta_var", "z"},
                              {"alpha_lower", "a"}, {"Beta_upper", "b"}});
    INFO("stderr: " << r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("\nDB_PASSWORD=value-of-db_pass\n"));
    CHECK_THAT(r.out, Catch::Contains("\nplain=text\n"));
    CHECK(r.out.find("ENC[") == std::string::npos);
    // CreateProcessW wants the block sorted by name, case-insensitively (a byte order would put
    // Beta_upper before alpha_lower); print-env shows the block's order. Wine appends its own
    // WINE* variables after the block, so only variables of ours are compared.
    std::vector<std::size_t> at;
    for (const char* name : {"\nalpha_lower=", "\nBeta_upper=", "\nDB_PASSWORD=", "\nplain=", "\nzeta_var="}) {
      at.push_back(r.out.find(name));
      INFO(name);
      CHECK(at.back() != std::string::npos);
    }
    CHECK(std::is_sorted(at.begin(), at.end()));
  }
  SECTION("the exit code") {
    const CliRun r = run_cli({"exec", "--config", s.config, "--", s.exe, "exit-3"});
    CHECK(r.exit_code == 3);
    const CliRun crash = run_cli({"exec", "--config", s.config, "--", s.exe, "exit-status", "C0000005"});
    CHECK(crash.exit_code == 0xC0000005u);
  }
}

TEST_CASE("exec: COMMAND is found on Path with PATHEXT, never through cmd.exe", "[cli][exec]") {
  Setup s;
  s.write_config("[echo-request]", "");
  TempDir bin;
  copy_fake_backend(bin / "tool.exe");
  write_file(bin / "script.cmd", "@echo should never run\r\n");
  const Environment path{{"Path", bin.path()}, {"PATHEXT", ".COM;.EXE;.BAT;.CMD"}};
  SECTION("a name without extension finds tool.exe, any case of Path") {
    const CliRun r = run_cli({"exec", "--config", s.config, "--", "tool", "print-args", "a b", "c\"d"}, path);
    INFO("stderr: " << r.err);
    CHECK(r.exit_code == 0);
    CHECK(r.out == "a b\nc\"d\n");
  }
  SECTION("a .cmd on Path is refused, exit 2, with the hint") {
    const CliRun r = run_cli({"exec", "--config", s.config, "--", "script", "x"}, path);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("refusing to run"));
    CHECK_THAT(r.err, Catch::Contains("script.cmd"));
    CHECK_THAT(r.err, Catch::Contains("through cmd.exe"));
    CHECK(r.out.find("should never run") == std::string::npos);
  }
  SECTION("an unknown command is exit 2") {
    const CliRun r = run_cli({"exec", "--config", s.config, "--", "no-such-tool"}, path);
    CHECK(r.exit_code == 2);
    CHECK_THAT(r.err, Catch::Contains("no such command (searched Path"));
  }
}

// ---- helper read-file -----------------------------------------------------------------------------

TEST_CASE("helper read-file: hostile names are refused per handle, the others answered", "[cli][helper]") {
  TempDir secrets;
  write_file(secrets / "ok", "ok-value");
  make_dir(secrets / "sub");
  write_file(secrets / "sub\\nested", "nested-value");
  TempDir outside;
  write_file(outside / "target", "outside-value");
  const std::vector<std::string> hostile = {"..\\" + std::string("x"), "sub\\..\\..\\x", "C:\\Windows\\win.ini",
                                            "\\\\server\\share\\x", "\\x", "ok:stream", "CON", "nul.txt",
                                            "COM1", "sub\\", "a|b"};
  nlohmann::json request = {{"version", "1.0"}, {"secrets", nlohmann::json::array({"ok", "sub\\nested", "sub/nested"})}};
  for (const auto& h : hostile) request["secrets"].push_back(h);
  const CliRun r = run_cli({"helper", "read-file", secrets.path()}, {}, request.dump());
  INFO("stderr: " << r.err);
  REQUIRE(r.exit_code == 0);
  const auto response = nlohmann::json::parse(r.out);
  CHECK(response.at("ok").at("value") == "ok-value");
  CHECK(response.at("sub\\nested").at("value") == "nested-value");
  CHECK(response.at("sub/nested").at("value") == "nested-value");
  for (const auto& h : hostile) {
    INFO(h);
    REQUIRE(response.contains(h));
    CHECK(response.at(h).at("value").is_null());
    CHECK_FALSE(response.at(h).at("error").get<std::string>().empty());
  }
  CHECK(r.out.find("outside-value") == std::string::npos);
}

// ---- UTF-8, output files, the default config -------------------------------------------------

TEST_CASE("UTF-8 arguments and paths: a config, an input and an output folder named in Unicode", "[cli][utf8]") {
  Setup s;
  const std::string folder = s.dir / "données-✓";
  make_dir(folder);
  const std::string config = folder + "\\stäckstate.yaml";
  write_file(config, "secret_backend_command: '" + s.exe + "'\nsecret_backend_arguments: [echo-request]\n");
  REQUIRE(set_sddl(config, "D:P(A;;FA;;;{U})"));
  const std::string input = folder + "\\pöstgres.yaml";
  write_file(input, "password: ENC[db_pass]\n");
  const std::string out_dir = folder + "\\résolu";
  const CliRun r = run_cli({"resolve", "--config", config, input, "--output-dir", out_dir});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  const std::string written = out_dir + "\\pöstgres.yaml";
  CHECK(exists(written));
  CHECK(read_all(written) == "password: \"value-of-db_pass\"\n");
  // Owner-only, the folder and the file (see owner_only() for what Wine shows of it).
  INFO(get_sddl(written) << "; " << get_sddl(out_dir));
  CHECK(owner_only(written));
  CHECK(owner_only(out_dir));
}

TEST_CASE("resolve --output-dir: an existing folder Everyone may add files to is refused, exit 2, nothing written",
          "[cli][output]") {
  Setup s;
  s.write_config("[echo-request]");
  const std::string input = s.dir / "pg.yaml";
  write_file(input, "password: ENC[db_pass]\n");
  const std::string out_dir = s.dir / "out";
  make_dir(out_dir);
  REQUIRE(set_sddl(out_dir, "D:P(A;OICI;FA;;;{U})(A;OICI;FW;;;WD)"));
  INFO("stored as " << get_sddl(out_dir));
  const CliRun r = run_cli({"resolve", "--config", s.config, input, "--output-dir", out_dir});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("--output-dir " + out_dir + " lets Everyone (S-1-1-0) "));
  CHECK_THAT(r.err, Catch::Contains("add file"));
  CHECK_THAT(r.err, Catch::Contains("so they could replace the resolved files in it: run icacls \"" + out_dir +
                                    "\" /remove:g *S-1-1-0"));
  CHECK_THAT(r.err, Catch::EndsWith(", or give --output-dir a folder of your own\n"));
  CHECK(r.err.find("value-of-db_pass") == std::string::npos);
  CHECK_FALSE(exists(out_dir + "\\pg.yaml"));
  CHECK(r.out.empty());

  // The same folder made owner-only is accepted.
  REQUIRE(set_sddl(out_dir, "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)"));
  const CliRun fixed = run_cli({"resolve", "--config", s.config, input, "--output-dir", out_dir});
  INFO("stderr: " << fixed.err);
  CHECK(fixed.exit_code == 0);
  CHECK(read_all(out_dir + "\\pg.yaml") == "password: \"value-of-db_pass\"\n");
}

TEST_CASE("resolve -o replaces the destination through an owner-only temporary", "[cli][output]") {
  Setup s;
  s.write_config("[echo-request]");
  const std::string out = s.dir / "out.yaml";
  write_file(out, "old contents\n");
  const CliRun r = run_cli({"resolve", "--config", s.config, "-o", out});
  INFO("stderr: " << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(read_all(out), Catch::EndsWith("\npassword: \"value-of-db_pass\"\n"));
  INFO(get_sddl(out));
  CHECK(owner_only(out));
  const CliRun again = run_cli({"resolve", "--config", s.config, "-o", s.config});
  CHECK(again.exit_code == 2);
  CHECK_THAT(again.err, Catch::Contains("refusing to write resolved secrets over the input file"));
}

TEST_CASE("the default config: %STS_CONFIG% (any case), else %ProgramData%\\StackState\\stackstate.yaml", "[cli][config]") {
  Setup s;
  s.write_config("[echo-request]");
  const CliRun by_variable = run_cli({"check"}, {{"sts_config", s.config}});
  INFO("stderr: " << by_variable.err);
  CHECK(by_variable.exit_code == 0);
  CHECK_THAT(by_variable.out, Catch::StartsWith("config:   " + s.config + "\n"));
  const CliRun missing = run_cli({"check"}, {{"ProgramData", s.dir / "nowhere"}});
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.err, Catch::Contains("cannot read " + (s.dir / "nowhere\\StackState\\stackstate.yaml")));
}

TEST_CASE("the shipped examples on Windows: the override replaces the POSIX root, handles and resolve work",
          "[cli][examples]") {
  // The shipped files, copied into a private folder: the main config's folders are checked
  // (SPEC 2), and the clone may sit anywhere (Z:\tmp lets Everyone delete under Wine).
  const std::string shipped = windows_path(STS_EXAMPLES_DIR);
  Setup s;
  const std::string examples = s.dir / "examples";
  for (const char* folder : {"", "\\conf.d", "\\secrets"}) {
    make_dir(examples + folder);
    REQUIRE(set_sddl(examples + folder, "D:P(A;OICI;FA;;;{U})(A;OICI;FA;;;SY)"));
  }
  for (const char* file : {"\\stackstate.yaml", "\\conf.d\\postgres.yaml", "\\secrets\\postgres_password",
                           "\\secrets\\api_key"}) {
    write_file(examples + file, read_all(shipped + file));
  }
  // The file backend's root in examples/stackstate.yaml is a POSIX path: on Windows it is not
  // absolute, so the override (here in lower case, as Windows allows) must replace it unread.
  const Environment env{{"sts_config", examples + "\\stackstate.yaml"},
                        {"sts_secret_backend_config", "{root: '" + examples + "\\secrets'}"}};
  const std::string postgres = examples + "\\conf.d\\postgres.yaml";
  const CliRun handles = run_cli({"handles", postgres}, env);
  INFO("stderr: " << handles.err);
  CHECK(handles.exit_code == 0);
  CHECK_THAT(handles.out, Catch::Contains("postgres_password\n    " + postgres + ": instances[0].password\n"));
  std::string value = read_all(examples + "\\secrets\\postgres_password");
  while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
  REQUIRE_FALSE(value.empty());
  const CliRun resolved = run_cli({"resolve", postgres}, env);
  INFO("stderr: " << resolved.err);
  CHECK(resolved.exit_code == 0);
  CHECK(resolved.out.find("password: \"" + value + "\"\n") != std::string::npos);   // no value in a message
  const CliRun without = run_cli({"resolve", postgres}, {{"sts_config", examples + "\\stackstate.yaml"}});
  CHECK(without.exit_code == 2);
  CHECK_THAT(without.err, Catch::Contains("want an absolute path, e.g. C:\\ProgramData\\StackState\\secrets"));
}

TEST_CASE("logs go to stderr, one line each, ending in \\n", "[cli][log]") {
  Setup s;
  s.write_config("[echo-request]");
  const CliRun r = run_cli({"--log-level", "debug", "resolve", "--config", s.config});
  CHECK(r.exit_code == 0);
  REQUIRE_FALSE(r.err.empty());
  CHECK(r.err.find('\r') == std::string::npos);
  CHECK(r.err.back() == '\n');
  CHECK(r.err.find("value-of-db_pass") == std::string::npos);
  CHECK_THAT(r.out, Catch::Contains("value-of-db_pass"));
}
