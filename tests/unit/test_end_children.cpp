// sts::adopt_orphans() and sts::end_children() (host.h) on POSIX: the command's own
// containment (SPEC 4, review finding F7). Every child is killed and reaped, and so is every
// orphan adopted as a subreaper, however deep it was; and the subreaper flag can be cleared.
//
// Whether a process is alive is never judged by time: each one holds the write end of a pipe
// whose read end the test holds; end of file says every holder is dead. The poll's bound only
// ends a failing test.
#include "stsecrets/host.h"

#include <catch2/catch.hpp>

#include <cerrno>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// Two children, each inheriting every descriptor: one starts a setsid() grandchild and exits at
// once (the grandchild is orphaned: adopted by this process, the subreaper), the other waits.
void start_family() {
  const pid_t parent = ::fork();
  REQUIRE(parent >= 0);
  if (parent == 0) {
    const pid_t orphan = ::fork();
    if (orphan == 0) {
      (void)::setsid();
      for (;;) ::pause();
    }
    ::_exit(orphan > 0 ? 0 : 1);
  }
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    for (;;) ::pause();
  }
}

// True when the read end reports end of file: no writer left.
bool writers_gone(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) return false;  // a bound for a failing test, not a proof
  char c = 0;
  return ::read(fd, &c, 1) == 0;
}

}  // namespace

TEST_CASE("end_children: every child and every adopted orphan is killed and reaped, and the flag can be cleared",
          "[host][containment]") {
  REQUIRE(sts::adopt_orphans());
  int subreaper = 0;
  REQUIRE(::prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0) == 0);
  CHECK(subreaper == 1);

  int p[2];
  REQUIRE(::pipe(p) == 0);
  start_family();  // all three hold p[1]
  ::close(p[1]);

  REQUIRE(sts::end_children(true));
  CHECK(writers_gone(p[0]));
  ::close(p[0]);
  // Nothing left to reap, and nothing adopted any more.
  CHECK(::waitpid(-1, nullptr, WNOHANG | __WALL) == -1);
  CHECK(errno == ECHILD);
  REQUIRE(::prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0) == 0);
  CHECK(subreaper == 0);
  // With no child at all it succeeds at once.
  CHECK(sts::end_children());
}
