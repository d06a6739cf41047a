// bench_backend: the smallest compiled secret backend the benchmarks can run (protocol 1.0).
//
// It reads the whole request from stdin, takes the strings of the "secrets" array with minimal
// parsing (escapes are copied through untouched, so the answer stays valid JSON) and answers
// {"h":{"value":"v-h"}} for each. It uses raw read()/write() and one output string so that the
// benchmarks measure the library, not the backend.
//
//   bench_backend                  answer every handle with "v-<handle>"
//   bench_backend big N            answer every handle with N bytes of 'x' (memory benchmark)
//   bench_backend sleep MS         read the request, sleep MS milliseconds, then answer as the
//                                  default mode (parallel-backends benchmark: a slow secret store)
//   bench_backend hang             never answer (timeout benchmark)
//   bench_backend hang-with-grandchild
//                                  fork a grandchild that holds stdout; both never answer
//   bench_backend hang-with-escaped-grandchild
//                                  fork a grandchild in its own session (out of the process
//                                  group, so a group kill misses it; the run's containment,
//                                  PID namespace or subreaper, does not) that holds stdout for
//                                  3 s; the backend itself never answers
//
// Not a test helper: tests use tests/helpers/fake_backend.cpp.
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace {

std::string read_all(int fd) {
  std::string in;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      in.append(buf, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  return in;
}

bool write_all(int fd, std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(fd, s.data(), s.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    s.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

[[noreturn]] void sleep_forever() {
  for (;;) ::pause();
}

// Calls fn(raw) for each string of the "secrets" array; raw is the text between the quotes.
template <class Fn>
void for_each_secret(std::string_view req, Fn fn) {
  std::size_t p = req.find("\"secrets\"");
  if (p == std::string_view::npos) return;
  p = req.find('[', p);
  if (p == std::string_view::npos) return;
  ++p;
  while (p < req.size() && req[p] != ']') {
    if (req[p] != '"') {
      ++p;
      continue;
    }
    std::size_t start = ++p;
    while (p < req.size() && req[p] != '"') p += (req[p] == '\\') ? std::size_t{2} : std::size_t{1};
    if (p > req.size()) return;
    fn(req.substr(start, p - start));
    ++p;
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode == "hang") sleep_forever();
  if (mode == "hang-with-grandchild") {
    if (::fork() < 0) return 1;
    sleep_forever();  // parent and grandchild both hold stdout
  }
  if (mode == "hang-with-escaped-grandchild") {
    pid_t pid = ::fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      ::setsid();
      ::sleep(3);  // bounded, so a benchmark run leaves nothing behind for long
      ::_exit(0);
    }
    sleep_forever();
  }
  std::size_t big = 0;
  if (mode == "big" && argc > 2) big = static_cast<std::size_t>(std::strtoull(argv[2], nullptr, 10));

  const std::string req = read_all(0);
  if (mode == "sleep" && argc > 2) {
    const long ms = std::strtol(argv[2], nullptr, 10);
    timespec left{ms / 1000, (ms % 1000) * 1000000L};
    while (::nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
  }
  std::string out;
  out.reserve(big != 0 ? big + 64 : req.size() * 3 + 16);
  out += '{';
  bool first = true;
  for_each_secret(req, [&](std::string_view h) {
    if (!first) out += ',';
    first = false;
    out += '"';
    out += h;
    out += "\":{\"value\":\"";
    if (big != 0) {
      out.append(big, 'x');
    } else {
      out += "v-";
      out += h;
    }
    out += "\"}";
  });
  out += '}';
  return write_all(1, out) ? 0 : 1;
}
