/* Processes: fork/exec/wait trees, the wait status encoding (exited,
 * signaled, stopped, continued) through wait4 and waitid with WNOHANG,
 * WUNTRACED and WCONTINUED, zombies and reaping, orphans re-parented,
 * SIGCHLD with its siginfo, vfork+exec, O_CLOEXEC across exec, sessions
 * and process groups. Nothing printed depends on pid values: only
 * relations ("pid matches"). Children print before the parent waits for
 * them, so the order of the lines is fixed. Run with "helper ..." it is
 * the program the others exec. */
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static const char *self;

static void show_status(const char *label, int st) {
  if (WIFEXITED(st))
    printf("%s: exited %d\n", label, WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    printf("%s: signaled %d%s\n", label, WTERMSIG(st),
           WCOREDUMP(st) ? " core" : "");
  else if (WIFSTOPPED(st))
    printf("%s: stopped %d\n", label, WSTOPSIG(st));
  else if (WIFCONTINUED(st))
    printf("%s: continued\n", label);
  else
    printf("%s: raw %#x\n", label, st);
}

static const char *cld_name(int code) {
  switch (code) {
  case CLD_EXITED:
    return "CLD_EXITED";
  case CLD_KILLED:
    return "CLD_KILLED";
  case CLD_DUMPED:
    return "CLD_DUMPED";
  case CLD_STOPPED:
    return "CLD_STOPPED";
  case CLD_CONTINUED:
    return "CLD_CONTINUED";
  default:
    return "other";
  }
}

static pid_t xfork(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p < 0) {
    printf("fork: %s\n", errname(errno));
    exit(2);
  }
  return p;
}

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

static int helper(int argc, char **argv) {
  if (argc >= 3 && !strcmp(argv[2], "exit")) {
    printf("helper: exiting %s\n", argv[3]);
    return atoi(argv[3]);
  }
  if (argc >= 3 && !strcmp(argv[2], "fds")) {
    for (int i = 3; i < argc; i++) {
      int fd = atoi(argv[i]);
      errno = 0;
      int r = fcntl(fd, F_GETFD);
      printf("helper: fd %d %s\n", i - 2, r < 0 ? errname(errno) : "open");
    }
    return 0;
  }
  printf("helper: unknown\n");
  return 99;
}

static void tree(void) {
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    kids[i] = xfork();
    if (kids[i] == 0) {
      int sum = 0;
      pid_t g[2];
      for (int j = 0; j < 2; j++) {
        g[j] = xfork();
        if (g[j] == 0)
          _exit(i * 10 + j + 1);
      }
      for (int j = 1; j >= 0; j--) {
        int st;
        pid_t w = waitpid(g[j], &st, 0);
        printf("  child %d: grandchild %d pid matches %d, status %d\n", i, j,
               w == g[j], WEXITSTATUS(st));
        sum += WEXITSTATUS(st);
      }
      fflush(stdout);
      _exit(sum);
    }
    int st;
    pid_t w = waitpid(kids[i], &st, 0);
    printf("tree: child %d pid matches %d ", i, w == kids[i]);
    show_status("status", st);
  }
  int st;
  errno = 0;
  long r = wait(&st);
  printf("tree: wait with no children: %ld %s\n", r, errname(errno));
}

static void exec_tests(void) {
  pid_t p = xfork();
  if (p == 0) {
    execl(self, self, "helper", "exit", "7", (char *)0);
    _exit(126);
  }
  int st;
  waitpid(p, &st, 0);
  show_status("exec helper", st);

  p = xfork();
  if (p == 0) {
    execl("/nonexistent/prog", "prog", (char *)0);
    printf("exec missing: %s\n", errname(errno));
    fflush(stdout);
    _exit(127);
  }
  waitpid(p, &st, 0);
  show_status("exec missing", st);

  /* vfork: the parent is suspended until the child execs */
  fflush(stdout);
  p = vfork();
  if (p == 0) {
    execl(self, self, "helper", "exit", "3", (char *)0);
    _exit(126);
  }
  waitpid(p, &st, 0);
  show_status("vfork+exec", st);

  /* close-on-exec */
  int a[2], b[2];
  if (pipe2(a, O_CLOEXEC) < 0 || pipe(b) < 0)
    return;
  char fa[16], fb[16];
  snprintf(fa, sizeof fa, "%d", a[0]);
  snprintf(fb, sizeof fb, "%d", b[0]);
  p = xfork();
  if (p == 0) {
    execl(self, self, "helper", "fds", fa, fb, (char *)0);
    _exit(126);
  }
  waitpid(p, &st, 0);
  show_status("cloexec", st);
  close(a[0]), close(a[1]), close(b[0]), close(b[1]);
}

static void status_encoding(void) {
  int st;
  pid_t p = xfork();
  if (p == 0)
    _exit(256 + 42); /* only the low 8 bits survive */
  waitpid(p, &st, 0);
  show_status("exit 298", st);

  p = xfork();
  if (p == 0) {
    kill(getpid(), SIGKILL);
    _exit(1);
  }
  waitpid(p, &st, 0);
  show_status("self SIGKILL", st);

  p = xfork();
  if (p == 0) {
    signal(SIGTERM, SIG_DFL);
    for (;;)
      pause();
  }
  kill(p, SIGTERM);
  waitpid(p, &st, 0);
  show_status("killed by parent", st);

  /* stop, continue, terminate: wait4 with WUNTRACED and WCONTINUED */
  p = xfork();
  if (p == 0) {
    raise(SIGSTOP);
    for (;;)
      pause();
  }
  struct rusage ru;
  pid_t w = wait4(p, &st, WUNTRACED, &ru);
  printf("wait4 WUNTRACED pid matches %d\n", w == p);
  show_status("after SIGSTOP", st);
  kill(p, SIGCONT);
  w = wait4(p, &st, WCONTINUED, NULL);
  printf("wait4 WCONTINUED pid matches %d\n", w == p);
  show_status("after SIGCONT", st);
  kill(p, SIGINT);
  w = wait4(p, &st, 0, NULL);
  show_status("after SIGINT", st);

  /* the same with waitid */
  p = xfork();
  if (p == 0) {
    raise(SIGSTOP);
    for (;;)
      pause(); /* an exit here could hide the continued state */
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_PID, p, &si, WSTOPPED);
  printf("waitid WSTOPPED: %d %s status %d pid matches %d\n", r,
         cld_name(si.si_code), si.si_status, si.si_pid == p);
  kill(p, SIGCONT);
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, p, &si, WCONTINUED);
  printf("waitid WCONTINUED: %d %s status %d\n", r, cld_name(si.si_code),
         si.si_status);
  kill(p, SIGKILL);
  memset(&si, 0, sizeof si);
  r = waitid(P_ALL, 0, &si, WEXITED);
  printf("waitid WEXITED after SIGKILL: %d %s status %d pid matches %d\n", r,
         cld_name(si.si_code), si.si_status, si.si_pid == p);

  p = xfork();
  if (p == 0) {
    raise(SIGABRT + 0 * getpid());
    _exit(1);
  }
  memset(&si, 0, sizeof si);
  waitid(P_PID, p, &si, WEXITED);
  printf("waitid killed: %s status %d\n",
         si.si_code == CLD_DUMPED ? "CLD_KILLED" : cld_name(si.si_code),
         si.si_status);
}

static void nohang_and_zombies(void) {
  int fd[2];
  if (pipe(fd) < 0)
    return;
  pid_t p = xfork();
  if (p == 0) {
    char c;
    close(fd[1]);
    ssize_t n = read(fd[0], &c, 1);
    _exit(n == 0 ? 4 : 5);
  }
  close(fd[0]);
  int st = -1;
  pid_t w = waitpid(p, &st, WNOHANG);
  printf("WNOHANG while running: %ld\n", (long)w);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r = waitid(P_PID, p, &si, WEXITED | WNOHANG);
  printf("waitid WNOHANG while running: %d si_pid %d\n", r, si.si_pid);
  close(fd[1]);
  /* WNOWAIT leaves the zombie in place */
  memset(&si, 0, sizeof si);
  r = waitid(P_PID, p, &si, WEXITED | WNOWAIT);
  printf("waitid WNOWAIT: %d %s status %d\n", r, cld_name(si.si_code),
         si.si_status);
  w = waitpid(p, &st, 0);
  printf("reaped pid matches %d ", w == p);
  show_status("status", st);
  errno = 0;
  w = waitpid(p, &st, 0);
  printf("reap again: %ld %s\n", (long)w, errname(errno));
  errno = 0;
  r = kill(p, 0);
  printf("kill reaped: %d %s\n", r, errname(errno));

  /* many zombies, reaped with wait(-1) in any order */
  int sum = 0;
  for (int i = 0; i < 20; i++)
    if (xfork() == 0)
      _exit(i);
  msleep(50);
  for (int i = 0; i < 20; i++) {
    if (wait(&st) < 0) {
      printf("wait: %s\n", errname(errno));
      break;
    }
    sum += WEXITSTATUS(st);
  }
  printf("20 zombies reaped, status sum %d\n", sum);
}

static void orphans(void) {
  /* natively the orphan goes to the nearest subreaper: make that us; in the
   * sandbox we are pid 1, the sandbox's init */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  pid_t top = getpid();
  int fd[2];
  if (pipe(fd) < 0)
    return;
  pid_t a = xfork();
  if (a == 0) {
    pid_t b = xfork();
    if (b == 0) {
      pid_t first = getppid();
      close(fd[0]);
      char c = 0;
      if (write(fd[1], &c, 1) != 1)
        _exit(3);
      int changed = 0;
      for (int i = 0; i < 500 && !changed; i++) {
        changed = getppid() != first;
        if (!changed)
          msleep(10);
      }
      printf("orphan: parent changed %d, now the top process %d\n", changed,
             getppid() == top);
      fflush(stdout);
      _exit(6);
    }
    char c;
    if (read(fd[0], &c, 1) != 1)
      _exit(4);
    _exit(0); /* leaves b behind */
  }
  close(fd[1]);
  int st, ast;
  waitpid(a, &ast, 0);
  pid_t w = waitpid(-1, &st, 0);
  show_status("orphan's parent", ast);
  printf("orphan reaped by top: %d ", w > 0);
  show_status("status", st);
  close(fd[0]);
}

static volatile sig_atomic_t g_chld, g_chld_code, g_chld_status, g_chld_pid;

static void on_chld(int sig, siginfo_t *si, void *uc) {
  g_chld++;
  g_chld_code = si->si_code;
  g_chld_status = si->si_status;
  g_chld_pid = si->si_pid;
}

static void sigchld(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_chld;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGCHLD, &sa, NULL);
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGCHLD);
  sigprocmask(SIG_BLOCK, &block, &old);
  pid_t p = xfork();
  if (p == 0)
    _exit(3);
  sigset_t wait_mask = old;
  sigdelset(&wait_mask, SIGCHLD);
  while (!g_chld)
    sigsuspend(&wait_mask);
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("SIGCHLD: count %d %s status %d pid matches %d\n", g_chld,
         cld_name(g_chld_code), g_chld_status, g_chld_pid == p);
  int st;
  waitpid(p, &st, 0);
  show_status("SIGCHLD child", st);
  signal(SIGCHLD, SIG_DFL);

  /* SIGCHLD ignored: children are reaped automatically, wait says ECHILD */
  signal(SIGCHLD, SIG_IGN);
  p = xfork();
  if (p == 0)
    _exit(1);
  errno = 0;
  pid_t w = waitpid(p, &st, 0);
  printf("SIG_IGN SIGCHLD wait: %ld %s\n", (long)w, errname(errno));
  signal(SIGCHLD, SIG_DFL);
}

static void sessions(void) {
  pid_t p = xfork();
  if (p == 0) {
    pid_t me = getpid();
    printf("child: own group before %d\n", getpgid(0) == me);
    int r = setpgid(0, 0);
    printf("child: setpgid(0,0) %d, leader %d\n", r, getpgid(0) == me);
    errno = 0;
    r = setsid();
    printf("child: setsid as group leader %d %s\n", r, errname(errno));
    fflush(stdout);
    pid_t q = fork();
    if (q == 0) {
      pid_t s = setsid();
      printf("grandchild: setsid ok %d, sid is self %d, pgid is self %d\n",
             s == getpid(), getsid(0) == getpid(), getpgrp() == getpid());
      fflush(stdout);
      _exit(0);
    }
    waitpid(q, NULL, 0);
    _exit(0);
  }
  waitpid(p, NULL, 0);
  errno = 0;
  int r = getpgid(p);
  printf("parent: getpgid of reaped child %d %s\n", r, errname(errno));
}

int main(int argc, char **argv) {
  self = argv[0];
  if (argc >= 2 && !strcmp(argv[1], "helper"))
    return helper(argc, argv);
  setvbuf(stdout, NULL, _IOLBF, 0);
  tree();
  exec_tests();
  status_encoding();
  nohang_and_zombies();
  orphans();
  sigchld();
  sessions();
  printf("done\n");
  return 0;
}
