// sts::adopt_orphans() and sts::end_children() (host.h) on POSIX: the command's own
// containment (SPEC 4, review finding F7). Every child is killed and reaped, and so is every
// orphan adopted as a subreaper, however deep it was; and the subreaper flag can be cleared.
//
// Whether a process is alive is never judged by time: each one holds the write end of a pipe
// whose read end the test holds; end of file says every holder is dead. The poll's bound only
// ends a failing test. Each grandchild is known to exist (a byte on a pipe) before the call.
#include "stsecrets/host.h"

#include <catch2/catch.hpp>

#include <cerrno>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

// Pipes the family inherits: `life` (the test reads its end of file), `hold` (each member blocks
// reading it: should a failing test leave one alive, it ends with the test process) and `ready`.
struct Pipes {
  int life[2] = {-1, -1};
  int hold[2] = {-1, -1};
  int ready[2] = {-1, -1};
};

[[noreturn]] void wait_for_end(const Pipes& p) {
  ::close(p.hold[1]);
  char c = 0;
  while (::read(p.hold[0], &c, 1) < 0 && errno == EINTR) {
  }
  ::_exit(0);
}

// A member that starts a setsid() grandchild, then says so on `ready` and either exits (the
// grandchild is orphaned and adopted now) or waits (it is orphaned when end_children kills
// its parent: during the kill rounds).
pid_t start_parent(const Pipes& p, bool exit_at_once) {
  const pid_t parent = ::fork();
  REQUIRE(parent >= 0);
  if (parent == 0) {
    const pid_t grandchild = ::fork();
    if (grandchild == 0) {
      (void)::setsid();
      wait_for_end(p);
    }
    if (grandchild < 0 || ::write(p.ready[1], "r", 1) != 1) ::_exit(1);
    if (exit_at_once) ::_exit(0);
    wait_for_end(p);
  }
  char c = 0;
  REQUIRE(::read(p.ready[0], &c, 1) == 1);  // the grandchild exists
  return parent;
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

  Pipes p;
  REQUIRE(::pipe(p.life) == 0);
  REQUIRE(::pipe(p.hold) == 0);
  REQUIRE(::pipe(p.ready) == 0);
  // An orphan adopted before: its parent has exited (and is reaped here).
  const pid_t gone = start_parent(p, true);
  REQUIRE(::waitpid(gone, nullptr, 0) == gone);
  // An orphan made during the rounds: its parent waits until end_children kills it.
  (void)start_parent(p, false);
  ::close(p.life[1]);

  REQUIRE(sts::end_children(true));
  CHECK(writers_gone(p.life[0]));
  for (int fd : {p.life[0], p.hold[0], p.hold[1], p.ready[0], p.ready[1]}) ::close(fd);
  // Nothing left to reap, and nothing adopted any more.
  CHECK(::waitpid(-1, nullptr, WNOHANG | __WALL) == -1);
  CHECK(errno == ECHILD);
  REQUIRE(::prctl(PR_GET_CHILD_SUBREAPER, &subreaper, 0, 0, 0) == 0);
  CHECK(subreaper == 0);
  // With no child at all it succeeds at once.
  CHECK(sts::end_children());
}
