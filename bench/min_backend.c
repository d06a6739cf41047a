/* min_backend: the smallest secret backend a C programmer would write, the baseline of the
 * `stsecrets backend` row (bench/README.md, section 7): it reads the request to its end and
 * answers one fixed handle, h00000, with raw read()/write(). No parsing, no allocation.
 * `min_backend --exit` exits at once: the empty C program of the `stsecrets --version` row.
 * Not a test helper: tests use tests/helpers/fake_backend.cpp. */
#include <errno.h>
#include <unistd.h>

int main(int argc, char** argv) {
  (void)argv;
  if (argc > 1) return 0;
  static const char answer[] = "{\"h00000\":{\"value\":\"v-h00000\"}}";
  char buf[4096];
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) return 1;
  }
  return write(1, answer, sizeof answer - 1) == (ssize_t)(sizeof answer - 1) ? 0 : 1;
}
