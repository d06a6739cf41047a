// File: helpers/fake_backend.cpp
//
// One fake secret backend with modes (STYLE 12), for the tests that run real processes. Plain
// C++ and libc only, no library dependencies. The mode is argv[1]:
//
//   respond                        reads the request, answers {"<h>":{"value":"val-<h>"}} per handle
//   echo-request [FILE]            writes the exact stdin bytes to FILE (or stderr), answers "value-of-<h>"
//   echo-secret-to-stderr          like respond, and writes each value to stderr too
//   slow MS                        reads the request, sleeps MS milliseconds, then like respond
//   hang                           never reads, never answers
//   hang-with-grandchild           forks a grandchild holding stdout for 60 s, then hangs too
//   grandchild-holds-stdout        answers like respond and exits 0, while a grandchild keeps
//                                  stdout open for 60 s
//   ignore-sigterm                 ignores SIGTERM, then hangs
//   flood-stdout / flood-stderr    writes without end
//   stderr-bytes N                 writes N bytes (a repeating 0..9 pattern) to stderr, answers {}
//   big-output-before-reading-stdin  prints ~900 KiB of a valid response before reading stdin,
//                                  then reads all of stdin and completes the response
//   exit-3-with-valid-json         answers like respond, exits 3
//   killed-by-signal [segv]        disables core dumps and raises SIGKILL (or SIGSEGV)
//   close-stdin-immediately        closes fd 0 at once, answers {"closed":{"value":"yes"}}
//   print-env                      answers {"env":{"value":"<NAME=VALUE lines>"}}
//   print-fds                      answers {"fds":{"value":"0,1,2"}} from /proc/self/fd
//   print-status                   answers with SigIgn/SigBlk/NoNewPrivs/core limit/pgid facts
//   bad-json / dup-keys / deep-json / non-utf8   prints that kind of broken response, exits 0
//                                  (deep-json: {"a":{"value": followed by 100,000 '[')
//   descendant FIFO SHAPE THEN     starts a descendant that holds the write end of the named
//                                  pipe FIFO (the test holds the read end: EOF there means the
//                                  descendant died) and writes "R <pid>\n" into it. SHAPE:
//                                    setsid  a grandchild in a new session (setsid) whose
//                                            parent exits, so it is re-parented: outside the
//                                            backend's process group and process tree
//                                    group   a direct child that stays in the process group
//                                  The descendant closes 0, 1 and 2 (it holds no pipe of the
//                                  run) and ends itself after 60 s (alarm), so a failing test
//                                  leaves nothing behind for long. The backend waits until the
//                                  descendant has written its line, then THEN:
//                                    exit       answers like respond (it read the request
//                                               first) and exits 0
//                                    read-exit  only now reads the request to its end, then
//                                               answers like respond and exits 0
//                                    hang       never reads, never answers
//
// If the environment variable FAKE_PID_FILE is set (tests allow-list it), the pid is written
// there first, so a test can look for leftovers in the process group. It is the pid as the
// caller sees it (the /proc/self link), also when the backend runs in a PID namespace of its
// own, where getpid() is small.
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

extern char** environ;

namespace {

std::string read_all_stdin() {
  std::string data;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  return data;
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

void write_file(const char* path, std::string_view bytes) {
  int fd = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) std::_Exit(90);
  write_all(fd, bytes);
  ::close(fd);
}

// Minimal: the strings inside the array after "secrets". Handles the escapes \" and \\ only.
std::vector<std::string> parse_handles(const std::string& request) {
  std::vector<std::string> handles;
  std::size_t pos = request.find("\"secrets\"");
  if (pos == std::string::npos) return handles;
  pos = request.find('[', pos);
  if (pos == std::string::npos) return handles;
  for (std::size_t i = pos + 1; i < request.size() && request[i] != ']'; ++i) {
    if (request[i] != '"') continue;
    std::string h;
    for (++i; i < request.size() && request[i] != '"'; ++i) {
      if (request[i] == '\\' && i + 1 < request.size()) ++i;
      h.push_back(request[i]);
    }
    handles.push_back(h);
  }
  return handles;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20) {
      char esc[8];
      std::snprintf(esc, sizeof esc, "\\u%04x", u);
      out += esc;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

std::string entry(std::string_view key, std::string_view value) {
  return json_string(key) + ":{\"value\":" + json_string(value) + "}";
}

std::string answer(const std::vector<std::string>& handles, std::string_view prefix) {
  std::string out = "{";
  for (std::size_t i = 0; i < handles.size(); ++i) {
    if (i != 0) out += ",";
    out += entry(handles[i], std::string(prefix) + handles[i]);
  }
  return out + "}";
}

std::string single(std::string_view key, std::string_view value) { return "{" + entry(key, value) + "}"; }

[[noreturn]] void hang() {
  for (;;) ::pause();
}

void no_core() {
  const rlimit none{0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
}

std::string status_line(const char* field) {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (f == nullptr) return "";
  char line[256];
  std::string value;
  const std::size_t len = std::strlen(field);
  while (std::fgets(line, sizeof line, f) != nullptr) {
    if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
      const char* v = line + len + 1;
      while (*v == ' ' || *v == '\t') ++v;
      value = v;
      while (!value.empty() && (value.back() == '\n' || value.back() == ' ')) value.pop_back();
    }
  }
  std::fclose(f);
  return value;
}

std::string list_fds() {
  std::string out;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return "error";
  std::vector<int> fds;
  const int self = ::dirfd(d);
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    const int fd = std::atoi(e->d_name);
    if (fd != self) fds.push_back(fd);
  }
  ::closedir(d);
  std::sort(fds.begin(), fds.end());
  for (std::size_t i = 0; i < fds.size(); ++i) out += (i ? "," : "") + std::to_string(fds[i]);
  return out;
}

// The pid as /proc (mounted in the caller's PID namespace) names it, not getpid(): in a PID
// namespace of its own the backend is pid 2 to itself.
std::string global_pid() {
  char link[64];
  const ssize_t n = ::readlink("/proc/self", link, sizeof link - 1);
  if (n <= 0) return std::to_string(::getpid());
  return std::string(link, static_cast<std::size_t>(n));
}

// The descendant of mode `descendant`: opens the FIFO, announces itself, tells the backend
// (through `ready`) that it did, and holds the FIFO until it dies.
[[noreturn]] void hold_fifo(const char* fifo, int ready) {
  ::alarm(60);  // bounded even when a test fails to kill it
  const int fd = ::open(fifo, O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    write_all(ready, "E");
    std::_Exit(91);
  }
  write_all(fd, "R " + global_pid() + "\n");
  for (int i = 0; i < 3; ++i) ::close(i);  // holds no pipe of the run: only the FIFO tells
  write_all(ready, "R");
  ::close(ready);
  hang();
}

int descendant(const char* fifo, std::string_view shape, std::string_view then) {
  if (fifo == nullptr || (shape != "setsid" && shape != "group") ||
      (then != "exit" && then != "read-exit" && then != "hang")) {
    write_all(2, "fake_backend: descendant FIFO setsid|group exit|read-exit|hang\n");
    return 64;
  }
  // Read the request first when answering: the caller closes stdin after writing it.
  const std::string request = then == "exit" ? read_all_stdin() : std::string();
  int ready[2];
  if (::pipe2(ready, O_CLOEXEC) != 0) return 92;
  const pid_t child = ::fork();
  if (child < 0) return 93;
  if (child == 0) {
    ::close(ready[0]);
    if (shape == "group") hold_fifo(fifo, ready[1]);
    ::setsid();
    const pid_t grandchild = ::fork();
    if (grandchild == 0) hold_fifo(fifo, ready[1]);
    std::_Exit(grandchild < 0 ? 94 : 0);  // re-parents the grandchild
  }
  ::close(ready[1]);
  char got = 0;
  while (::read(ready[0], &got, 1) < 0 && errno == EINTR) {
  }
  if (got != 'R') return 95;
  if (then == "hang") hang();
  write_all(1, answer(parse_handles(then == "read-exit" ? read_all_stdin() : request), "val-"));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (const char* pid_file = std::getenv("FAKE_PID_FILE")) write_file(pid_file, global_pid());
  const std::string mode = argc > 1 ? argv[1] : "";
  const char* arg2 = argc > 2 ? argv[2] : nullptr;

  if (mode == "respond") {
    write_all(1, answer(parse_handles(read_all_stdin()), "val-"));
    return 0;
  }
  if (mode == "echo-request") {
    const std::string request = read_all_stdin();
    if (arg2 != nullptr) write_file(arg2, request);
    else write_all(2, request);
    write_all(1, answer(parse_handles(request), "value-of-"));
    return 0;
  }
  if (mode == "echo-secret-to-stderr") {
    const auto handles = parse_handles(read_all_stdin());
    for (const auto& h : handles) write_all(2, "val-" + h + "\n");
    write_all(1, answer(handles, "val-"));
    return 0;
  }
  if (mode == "slow") {
    const auto handles = parse_handles(read_all_stdin());
    ::usleep(static_cast<useconds_t>(std::atoi(arg2 != nullptr ? arg2 : "0")) * 1000U);
    write_all(1, answer(handles, "val-"));
    return 0;
  }
  if (mode == "hang") hang();
  if (mode == "hang-with-grandchild") {
    if (::fork() == 0) {
      ::sleep(60);
      std::_Exit(0);
    }
    hang();
  }
  if (mode == "grandchild-holds-stdout") {
    const auto handles = parse_handles(read_all_stdin());
    write_all(1, answer(handles, "val-"));
    if (::fork() == 0) {
      ::sleep(60);
      std::_Exit(0);
    }
    return 0;
  }
  if (mode == "ignore-sigterm") {
    std::signal(SIGTERM, SIG_IGN);
    hang();
  }
  if (mode == "flood-stdout" || mode == "flood-stderr") {
    const std::string block(65536, 'x');
    const int fd = mode == "flood-stdout" ? 1 : 2;
    while (write_all(fd, block)) {
    }
    return 1;
  }
  if (mode == "stderr-bytes") {
    read_all_stdin();
    const long n = std::atol(arg2 != nullptr ? arg2 : "0");
    std::string bytes;
    for (long i = 0; i < n; ++i) bytes.push_back(static_cast<char>('0' + i % 10));
    write_all(2, bytes);
    write_all(1, "{}");
    return 0;
  }
  if (mode == "big-output-before-reading-stdin") {
    write_all(1, "{\"padding\":{\"value\":\"" + std::string(900 * 1024, 'p') + "\"}");
    const auto handles = parse_handles(read_all_stdin());
    for (const auto& h : handles) write_all(1, "," + entry(h, "val-" + h));
    write_all(1, "}");
    return 0;
  }
  if (mode == "exit-3-with-valid-json") {
    write_all(1, answer(parse_handles(read_all_stdin()), "val-"));
    return 3;
  }
  if (mode == "killed-by-signal") {
    no_core();
    const bool segv = arg2 != nullptr && std::string_view(arg2) == "segv";
    std::signal(segv ? SIGSEGV : SIGKILL, SIG_DFL);
    std::raise(segv ? SIGSEGV : SIGKILL);
    return 0;
  }
  if (mode == "close-stdin-immediately") {
    ::close(0);
    ::usleep(100 * 1000);  // let the caller run into the closed pipe
    write_all(1, single("closed", "yes"));
    return 0;
  }
  if (mode == "print-env") {
    read_all_stdin();
    std::string lines;
    for (char** e = environ; *e != nullptr; ++e) lines += std::string(*e) + "\n";
    write_all(1, single("env", lines));
    return 0;
  }
  if (mode == "print-fds") {
    read_all_stdin();
    write_all(1, single("fds", list_fds()));
    return 0;
  }
  if (mode == "print-status") {
    read_all_stdin();
    rlimit core{};
    ::getrlimit(RLIMIT_CORE, &core);
    std::string facts = "SigIgn=" + status_line("SigIgn") + " SigBlk=" + status_line("SigBlk") +
                        " NoNewPrivs=" + status_line("NoNewPrivs") +
                        " core=" + std::to_string(core.rlim_cur) + "/" + std::to_string(core.rlim_max) +
                        " own_group=" + (::getpgrp() == ::getpid() ? "yes" : "no") +
                        " pdeathsig=" + [] { int s = 0; ::prctl(PR_GET_PDEATHSIG, &s); return std::to_string(s); }();
    write_all(1, single("status", facts));
    return 0;
  }
  if (mode == "descendant") {
    return descendant(arg2, argc > 3 ? argv[3] : "", argc > 4 ? argv[4] : "");
  }
  if (mode == "bad-json") {
    read_all_stdin();
    write_all(1, "{\"a\": {\"value\": ");
    return 0;
  }
  if (mode == "dup-keys") {
    read_all_stdin();
    write_all(1, "{\"a\":{\"value\":\"1\"},\"a\":{\"value\":\"2\"}}");
    return 0;
  }
  if (mode == "deep-json") {
    read_all_stdin();
    // Deep inside a handle's value, so the depth rule (not the top-level type) must catch it.
    write_all(1, "{\"a\":{\"value\":" + std::string(100000, '['));
    return 0;
  }
  if (mode == "non-utf8") {
    read_all_stdin();
    write_all(1, "{\"a\":{\"value\":\"\xff\xfe\"}}");
    return 0;
  }
  write_all(2, "fake_backend: unknown mode '" + mode + "'\n");
  return 64;
}
