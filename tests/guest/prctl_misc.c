/* prctl's process attributes (PR_SET_CHILD_SUBREAPER with orphans really
 * reparented to the subreaper, PR_SET/GET_TIMERSLACK, THP_DISABLE,
 * PR_GET_TID_ADDRESS, PR_GET_SECCOMP, securebits, MCE_KILL, PR_GET_TSC),
 * chroot(2) as root (the new root, ".." stopping there, an fd kept
 * outside), setfsuid/setfsgid, ioprio_get/ioprio_set, setdomainname,
 * acct(NULL) and restart_syscall, as prctl(2) and the other man pages
 * document them. Run as root natively and as guest root. Native vs moat. */
#include <sys/fsuid.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include "guest.h"

static int ioprio(int class, int level) {
  return class << 13 | level;
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("prctl");

  /* ---- a child subreaper gets its orphaned descendants ---- */
  int v = -1;
  R("get subreaper", prctl(PR_GET_CHILD_SUBREAPER, &v));
  printf("subreaper %d\n", v);
  R("set subreaper", prctl(PR_SET_CHILD_SUBREAPER, 1));
  prctl(PR_GET_CHILD_SUBREAPER, &v);
  printf("subreaper %d\n", v);
  int up[2], down[2];
  if (pipe(up) < 0 || pipe(down) < 0)
    return 1;
  pid_t me = getpid();
  pid_t mid = fork();
  if (mid == 0) {
    pid_t g = fork();
    if (g == 0) {
      char x;
      close(up[0]);
      close(down[1]);
      if (read(down[0], &x, 1) < 0) /* until the middle one is gone */
        _exit(1);
      x = getppid() == me;
      if (write(up[1], &x, 1) != 1)
        _exit(1);
      _exit(7);
    }
    if (write(up[1], &g, sizeof(g)) != sizeof(g))
      _exit(1);
    _exit(0);
  }
  close(up[1]);
  pid_t g = 0;
  if (read(up[0], &g, sizeof(g)) != sizeof(g))
    return 1;
  int st;
  R("reap the middle one", waitpid(mid, &st, 0) == mid);
  char x = 1;
  if (write(down[1], &x, 1) != 1)
    return 1;
  R("grandchild's answer", read(up[0], &x, 1));
  printf("its parent is now the subreaper: %d\n", x);
  R("reap the grandchild", waitpid(g, &st, 0) == g);
  printf("its status %d\n", WEXITSTATUS(st));
  R("no more children", waitpid(-1, NULL, WNOHANG));
  R("clear subreaper", prctl(PR_SET_CHILD_SUBREAPER, 0));
  pid_t c = fork();
  if (c == 0) {
    int cv = -1;
    prctl(PR_GET_CHILD_SUBREAPER, &cv);
    _exit(cv == 0 ? 0 : 1);
  }
  waitpid(c, &st, 0);
  printf("a child is no subreaper: %d\n", WEXITSTATUS(st) == 0);

  /* ---- the rest of prctl ---- */
  R("get timerslack", prctl(PR_GET_TIMERSLACK));
  R("set timerslack", prctl(PR_SET_TIMERSLACK, 123456));
  R("get timerslack", prctl(PR_GET_TIMERSLACK));
  R("set timerslack 0 (default)", prctl(PR_SET_TIMERSLACK, 0));
  R("get timerslack", prctl(PR_GET_TIMERSLACK));
  R("get thp disable", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
  R("set thp disable", prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0));
  R("get thp disable", prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0));
  R("set thp disable bad", prctl(PR_SET_THP_DISABLE, 1, 1, 0, 0));
  long addr = -1;
  R("get tid address", prctl(PR_GET_TID_ADDRESS, &addr));
  FACT("it is set (glibc, musl set it)", addr != 0 && addr != -1);
  R("get seccomp", prctl(PR_GET_SECCOMP));
  R("get securebits", prctl(PR_GET_SECUREBITS));
  R("mce kill get", prctl(PR_MCE_KILL_GET, 0, 0, 0, 0));
  R("mce kill set", prctl(PR_MCE_KILL, PR_MCE_KILL_CLEAR, 0, 0, 0));
  int tsc = -1;
  R("get tsc", prctl(PR_GET_TSC, &tsc));
  printf("tsc %d\n", tsc);
  R("unknown option", prctl(9999, 0, 0, 0, 0));

  /* ---- setfsuid / setfsgid ---- */
  write_file("secret", "s");
  chmod("secret", 0600);
  R("setfsuid query", setfsuid(-1));
  R("setfsuid 1000", setfsuid(1000));
  R("setfsuid query", setfsuid(-1));
  R("a 0600 root file with fsuid 1000", open("secret", O_RDONLY));
  R("setfsuid 0", setfsuid(0));
  R("setfsgid 50", setfsgid(50));
  R("setfsgid query", setfsgid(-1));
  R("setfsgid 0", setfsgid(0));

  /* ---- ioprio ---- */
  R("ioprio_get", syscall(SYS_ioprio_get, 1, 0));
  R("ioprio_set BE 3", syscall(SYS_ioprio_set, 1, 0, ioprio(2, 3)));
  R("ioprio_get", syscall(SYS_ioprio_get, 1, 0));
  R("ioprio_set RT 0", syscall(SYS_ioprio_set, 1, 0, ioprio(1, 0)));
  R("ioprio_set IDLE", syscall(SYS_ioprio_set, 1, 0, ioprio(3, 0)));
  R("ioprio_set class 7", syscall(SYS_ioprio_set, 1, 0, ioprio(7, 0)));
  R("ioprio_set NONE level 1", syscall(SYS_ioprio_set, 1, 0, ioprio(0, 1)));
  R("ioprio_set bad which", syscall(SYS_ioprio_set, 9, 0, 0));
  R("ioprio_get no such pid", syscall(SYS_ioprio_get, 1, 999999));
  c = fork();
  if (c == 0)
    _exit((int)syscall(SYS_ioprio_get, 1, 0) == ioprio(3, 0));
  waitpid(c, &st, 0);
  printf("a child inherits it: %d\n", WEXITSTATUS(st));
  syscall(SYS_ioprio_set, 1, 0, 0);

  /* ---- names, accounting, restart ---- */
  /* The same name again: a native run must not rename the host. */
  struct utsname u;
  uname(&u);
  R("setdomainname", setdomainname(u.domainname, strlen(u.domainname)));
  R("setdomainname too long", setdomainname((char[80]){"x"}, 65));
  R("acct(NULL)", acct(NULL));
  R("restart_syscall by hand", syscall(SYS_restart_syscall));

  /* ---- chroot (in a child: the root is the process's) ---- */
  mkdir("jail", 0755);
  mkdir("jail/inner", 0755);
  write_file("jail/inner/f", "inside");
  c = fork();
  if (c == 0) {
    int out = open(".", O_RDONLY | O_DIRECTORY);
    struct stat jail, root;
    stat("jail", &jail);
    R("chroot", chroot("jail"));
    stat("/", &root);
    FACT("/ is the jail", root.st_ino == jail.st_ino);
    FACT("/.. is the jail",
         stat("/..", &root) == 0 && root.st_ino == jail.st_ino);
    printf("read /inner/f: %s\n", read_file("/inner/f"));
    R("chroot a file", chroot("/inner/f"));
    R("chroot missing", chroot("/nope"));
    R("chdir /inner", chdir("/inner"));
    char cwd[256];
    printf("getcwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : errname(errno));
    R("fchdir out", fchdir(out));
    errno = 0;
    char *w = getcwd(cwd, sizeof(cwd));
    printf("getcwd outside the root: %s\n", w ? "a path" : errname(errno));
    R("chroot .", chroot("."));
    FACT("back where it began", stat("jail", &root) == 0);
    if (setresuid(4242, 4242, 4242) < 0)
      _exit(1);
    R("chroot as a user", chroot("/"));
    _exit(0);
  }
  waitpid(c, &st, 0);
  printf("chroot child %d\n", WEXITSTATUS(st));
  return 0;
}
