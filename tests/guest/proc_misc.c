/* The rest of the process interface: open file descriptions shared after
 * fork (one offset), signals delivered to a process and a thread that are
 * busy in user code (no syscall to interrupt), prctl names inherited by
 * fork and PR_SET_PDEATHSIG, clone3 as fork, execve of a #! script (and
 * EACCES, ENOENT for a missing interpreter), waitpid by process group,
 * gettid/getppid relations, sched_getaffinity, the robust list, rt_sigqueueinfo
 * and tgkill to self. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static const char *self;

static pid_t xfork(void) {
  fflush(stdout);
  pid_t p = fork();
  if (p < 0) {
    printf("fork: %s\n", errname(errno));
    exit(2);
  }
  return p;
}

static int status_of(pid_t p) {
  int st = -1;
  waitpid(p, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static void shared_offsets(void) {
  int fd = open("shared", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    return;
  if (write(fd, "P1", 2) != 2)
    return;
  pid_t p = xfork();
  if (p == 0) {
    int ok = write(fd, "C1", 2) == 2 && lseek(fd, 0, SEEK_CUR) == 4;
    _exit(ok ? 0 : 1);
  }
  int st = status_of(p);
  long off = lseek(fd, 0, SEEK_CUR);
  if (write(fd, "P2", 2) != 2)
    return;
  close(fd);
  printf("shared offset: child %d, parent sees offset %ld, file %s\n", st, off,
         read_file("shared"));
  /* O_APPEND and a dup in the child share the description too */
  fd = open("shared", O_WRONLY | O_APPEND);
  p = xfork();
  if (p == 0) {
    int d = dup(fd);
    fcntl(d, F_SETFL, 0); /* status flags belong to the description */
    _exit(write(d, "C2", 2) == 2 ? 0 : 1);
  }
  status_of(p);
  printf("flags changed by the child: O_APPEND %d\n",
         (fcntl(fd, F_GETFL) & O_APPEND) != 0);
  close(fd);
}

static volatile int g_flag;
static void set_flag(int sig) {
  g_flag = 1;
}

static void *spin_thread(void *arg) {
  while (!g_flag)
    __asm__ volatile("" ::: "memory");
  return NULL;
}

static void running_targets(void) {
  /* a process spinning in user code */
  signal(SIGUSR1, set_flag);
  int ready[2];
  if (pipe(ready) < 0)
    return;
  pid_t p = xfork();
  if (p == 0) {
    alarm(20); /* a signal that never arrives ends as status 142 */
    if (write(ready[1], "r", 1) != 1)
      _exit(3);
    while (!g_flag)
      __asm__ volatile("" ::: "memory");
    _exit(0);
  }
  char c;
  if (read(ready[0], &c, 1) != 1)
    return;
  usleep(20000);
  kill(p, SIGUSR1);
  printf("signal to a spinning process: status %d\n", status_of(p));
  close(ready[0]);
  close(ready[1]);

  /* a thread spinning in user code, signalled with pthread_kill */
  g_flag = 0;
  pthread_t t;
  pthread_create(&t, NULL, spin_thread, NULL);
  usleep(20000);
  pthread_kill(t, SIGUSR1);
  pthread_join(t, NULL);
  printf("signal to a spinning thread: handled %d\n", g_flag);
  signal(SIGUSR1, SIG_DFL);
}

static void names_and_deathsig(void) {
  char name[32] = {0};
  prctl(PR_SET_NAME, "moat-test-name-too-long");
  prctl(PR_GET_NAME, name);
  printf("PR_GET_NAME: %s\n", name);
  pid_t p = xfork();
  if (p == 0) {
    char n[32] = {0};
    prctl(PR_GET_NAME, n);
    _exit(!strcmp(n, "moat-test-name-") ? 0 : 1);
  }
  printf("name inherited by fork: status %d\n", status_of(p));

  int fd[2];
  if (pipe(fd) < 0)
    return;
  /* Before the fork: natively the orphaned grandchild must come to us
   * (inside, we are pid 1), or the wait below returns at once and its
   * line races with the ones after it. */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  p = xfork();
  if (p == 0) {
    pid_t g = xfork();
    if (g == 0) {
      sigset_t s;
      sigemptyset(&s);
      sigaddset(&s, SIGUSR2);
      sigprocmask(SIG_BLOCK, &s, NULL);
      prctl(PR_SET_PDEATHSIG, SIGUSR2);
      int sig = 0;
      prctl(PR_GET_PDEATHSIG, &sig);
      if (write(fd[1], "r", 1) != 1)
        _exit(3);
      struct timespec ts = {10, 0};
      siginfo_t si;
      int got = sigtimedwait(&s, &si, &ts);
      printf("pdeathsig: set %d, received %d\n", sig == SIGUSR2,
             got == SIGUSR2);
      fflush(stdout);
      _exit(0);
    }
    char c;
    if (read(fd[0], &c, 1) != 1)
      _exit(4);
    _exit(0); /* the grandchild's parent dies */
  }
  status_of(p);
  /* the grandchild is re-parented to us (pid 1 inside; natively we are the
   * subreaper) */
  int st;
  while (wait(&st) > 0)
    ;
  close(fd[0]);
  close(fd[1]);
}

struct clone_args_ {
  uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size,
      tls, set_tid, set_tid_size, cgroup;
};

static void clone3_and_execs(void) {
  struct clone_args_ ca;
  memset(&ca, 0, sizeof ca);
  ca.exit_signal = SIGCHLD;
  fflush(stdout);
  long p = syscall(SYS_clone3, &ca, sizeof ca);
  if (p == 0)
    _exit(21);
  if (p < 0)
    printf("clone3: %s\n", errname(errno));
  else
    printf("clone3 as fork: status %d\n", status_of((pid_t)p));

  pid_t c;
  write_file("script.sh", "#!/bin/sh -e\necho \"script: $0 $1\" | sed "
                          "s,.*/,,\nexit 5\n");
  chmod("script.sh", 0755);
  c = xfork();
  if (c == 0) {
    execl("./script.sh", "script.sh", "arg1", (char *)0);
    _exit(126);
  }
  printf("#! script: status %d\n", status_of(c));
  write_file("noexec.sh", "#!/bin/sh\necho no\n");
  errno = 0;
  c = xfork();
  if (c == 0) {
    execl("./noexec.sh", "noexec.sh", (char *)0);
    printf("exec without x bit: %s\n", errname(errno));
    fflush(stdout);
    _exit(0);
  }
  status_of(c);
  write_file("badinterp.sh", "#!/nonexistent/interp\n");
  chmod("badinterp.sh", 0755);
  c = xfork();
  if (c == 0) {
    execl("./badinterp.sh", "badinterp.sh", (char *)0);
    printf("exec with a missing interpreter: %s\n", errname(errno));
    fflush(stdout);
    _exit(0);
  }
  status_of(c);
}

static void groups_and_ids(void) {
  pid_t me = getpid();
  printf("gettid is pid in main: %d\n", (pid_t)syscall(SYS_gettid) == me);
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    kids[i] = xfork();
    if (kids[i] == 0) {
      int ok = getppid() == me;
      if (i == 0)
        setpgid(0, 0);
      usleep(20000 * (i + 1));
      _exit(ok ? 10 + i : 99);
    }
    /* both sides set the group, as shells do, so there is no race */
    if (i < 2)
      setpgid(kids[i], kids[0]);
  }
  int st;
  pid_t w = waitpid(-kids[0], &st, 0);
  printf("waitpid(-pgid): matches %d status %d\n", w == kids[0] || w == kids[1],
         WEXITSTATUS(st));
  int total = WEXITSTATUS(st);
  while ((w = waitpid(-1, &st, 0)) > 0)
    total += WEXITSTATUS(st);
  printf("all children: status sum %d\n", total);

  cpu_set_t set;
  CPU_ZERO(&set);
  long r = syscall(SYS_sched_getaffinity, 0, sizeof set, &set);
  printf("sched_getaffinity: bytes > 0 %d, cpus > 0 %d\n", r > 0,
         CPU_COUNT(&set) > 0);
  void *head = NULL;
  size_t len = 0;
  r = syscall(SYS_get_robust_list, 0, &head, &len);
  printf("get_robust_list: %ld len %zu set %d\n", r, len, head != NULL);
  errno = 0;
  r = syscall(SYS_set_robust_list, head, len + 1);
  printf("set_robust_list bad len: %ld %s\n", r, errname(errno));
  printf("sched_yield: %d\n", sched_yield());
}

static volatile int g_code, g_val, g_sig;
static void on_info(int sig, siginfo_t *si, void *uc) {
  g_sig = sig;
  g_code = si->si_code;
  g_val = si->si_value.sival_int;
}

static void self_signals(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_info;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_signo = SIGUSR1;
  si.si_code = SI_QUEUE;
  si.si_pid = getpid();
  si.si_uid = getuid();
  si.si_value.sival_int = 77;
  long r = syscall(SYS_rt_sigqueueinfo, getpid(), SIGUSR1, &si);
  printf("rt_sigqueueinfo: %ld sig %d code SI_QUEUE %d value %d\n", r, g_sig,
         g_code == SI_QUEUE, g_val);
  g_sig = 0;
  r = syscall(SYS_tgkill, getpid(), syscall(SYS_gettid), SIGUSR1);
  printf("tgkill: %ld sig %d code SI_TKILL %d\n", r, g_sig, g_code == SI_TKILL);
  errno = 0;
  r = syscall(SYS_tgkill, getpid(), 999999, SIGUSR1);
  printf("tgkill missing thread: %ld %s\n", r, errname(errno));
  errno = 0;
  r = kill(getpid(), 65);
  printf("kill bad signal: %ld %s\n", r, errname(errno));
  signal(SIGUSR1, SIG_DFL);
}

int main(int argc, char **argv) {
  self = argv[0];
  if (argc >= 2 && !strcmp(argv[1], "helper")) {
    const char *t = getenv("MOAT_T");
    printf("helper: env %s\n", t ? t : "unset");
    return 8;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  char abs_self[4096];
  if (self[0] != '/' && realpath(self, abs_self))
    self = abs_self;
  enter_workdir("proc_misc");
  shared_offsets();
  running_targets();
  names_and_deathsig();
  clone3_and_execs();
  groups_and_ids();
  self_signals();
  printf("done\n");
  return 0;
}
