/* The guest's own resource limits, as Linux enforces them: getrlimit,
 * setrlimit (also the old syscall) and prlimit64 with their rules (soft
 * above hard is EINVAL, an unknown resource EINVAL, RLIMIT_NOFILE above
 * fs.nr_open EPERM, raising a hard limit needs CAP_SYS_RESOURCE: root may,
 * another uid gets EPERM), RLIM_INFINITY, inheritance by fork and across
 * exec, prlimit on another process (ESRCH for none, EPERM for one of
 * another uid); RLIMIT_NOFILE (EMFILE from open, dup, fcntl F_DUPFD, pipe,
 * eventfd; dup2 and F_DUPFD at or above the limit EBADF and
 * EINVAL; descriptors above a lowered limit stay usable); RLIMIT_FSIZE
 * (a write is cut at the limit, the next one gets SIGXFSZ and EFBIG, a
 * truncate past it too, the default action of SIGXFSZ ends the process);
 * RLIMIT_CPU (SIGXCPU at the soft limit, then once a second with the soft
 * limit raised by one as Linux does, SIGKILL at the hard limit); and
 * RLIMIT_NPROC (fork and thread creation fail with EAGAIN once the real
 * uid has that many tasks; uid 0 is exempt). Parts that need root (another
 * uid) print "skipped" natively and inside alike when not run as root. */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

#define CAP_SYS_RESOURCE 24

static void show_limit(const char *label, int res) {
  struct rlimit r;
  if (getrlimit(res, &r) < 0) {
    printf("%s: -1 %s\n", label, errname(errno));
    return;
  }
  char cur[32], max[32];
  if (r.rlim_cur == RLIM_INFINITY)
    strcpy(cur, "inf");
  else
    snprintf(cur, sizeof cur, "%llu", (unsigned long long)r.rlim_cur);
  if (r.rlim_max == RLIM_INFINITY)
    strcpy(max, "inf");
  else
    snprintf(max, sizeof max, "%llu", (unsigned long long)r.rlim_max);
  printf("%s: %s:%s\n", label, cur, max);
}

static int set(int res, rlim_t cur, rlim_t max) {
  struct rlimit r = {cur, max};
  return setrlimit(res, &r);
}

/* Run fn in a child; print how the child ended. */
static void in_child(const char *what, void (*fn)(void)) {
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    fn();
    fflush(stdout);
    _exit(0);
  }
  int st;
  waitpid(pid, &st, 0);
  if (WIFSIGNALED(st))
    printf("%s: child killed by signal %d\n", what, WTERMSIG(st));
  else
    printf("%s: child exit %d\n", what, WEXITSTATUS(st));
}

static bool g_root;

/* Is capability cap in the effective set? */
static bool has_cap(int cap) {
  struct {
    uint32_t version;
    int pid;
  } h = {0x20080522 /* _LINUX_CAPABILITY_VERSION_3 */, 0};
  struct {
    uint32_t effective, permitted, inheritable;
  } d[2];
  if (syscall(SYS_capget, &h, d) < 0)
    return false;
  return (d[cap / 32].effective >> (cap % 32)) & 1;
}

/* A uid with no other process, natively either (runs of this test at the
 * same time pick different ones: RLIMIT_NPROC counts the uid's tasks). */
static uid_t g_nobody;

static void become_nobody(void) {
  if (setgid(g_nobody) < 0 || setuid(g_nobody) < 0) {
    printf("setuid: %s\n", errname(errno));
    _exit(3);
  }
}

/* ---- the rules of setrlimit and prlimit ---- */

static void rules_child(void) {
  R("soft above hard", set(RLIMIT_NOFILE, 200, 100));
  R("unknown resource", set(99, 1, 1));
  R("getrlimit unknown", getrlimit(99, &(struct rlimit){0, 0}));
  R("negative resource", syscall(SYS_prlimit64, 0, -1, NULL, NULL));
  R("nofile above nr_open", set(RLIMIT_NOFILE, 1024, 1048577));
  R("nofile infinity", set(RLIMIT_NOFILE, 1024, RLIM_INFINITY));
  R("setrlimit NULL", syscall(SYS_setrlimit, RLIMIT_NOFILE, NULL));
  R("getrlimit bad pointer", syscall(SYS_getrlimit, RLIMIT_NOFILE, 8));
  R("prlimit64 bad new", syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, 8, NULL));
  R("set fsize infinity", set(RLIMIT_FSIZE, RLIM_INFINITY, RLIM_INFINITY));
  show_limit("fsize", RLIMIT_FSIZE);
  R("lower nofile", set(RLIMIT_NOFILE, 100, 200));
  show_limit("nofile", RLIMIT_NOFILE);
  R("soft up to hard", set(RLIMIT_NOFILE, 200, 200));
  R("old setrlimit syscall",
    syscall(SYS_setrlimit, RLIMIT_NOFILE, &(struct rlimit){150, 200}));
  struct rlimit r;
  R("old getrlimit syscall", syscall(SYS_getrlimit, RLIMIT_NOFILE, &r));
  printf("old getrlimit: %llu:%llu\n", (unsigned long long)r.rlim_cur,
         (unsigned long long)r.rlim_max);
  struct rlimit nw = {120, 200}, old;
  R("prlimit self", prlimit(0, RLIMIT_NOFILE, &nw, &old));
  printf("prlimit old: %llu:%llu\n", (unsigned long long)old.rlim_cur,
         (unsigned long long)old.rlim_max);
  R("prlimit own pid", prlimit(getpid(), RLIMIT_NOFILE, NULL, &old));
  printf("prlimit own pid: %llu:%llu\n", (unsigned long long)old.rlim_cur,
         (unsigned long long)old.rlim_max);
  /* Raising the hard limit needs CAP_SYS_RESOURCE (moat's uid 0 has it; a
   * container's root may not): it works exactly when the process has it. */
  int raised = set(RLIMIT_NOFILE, 100, 300);
  FACT("raising the hard limit works iff CAP_SYS_RESOURCE",
       (raised == 0) == has_cap(CAP_SYS_RESOURCE));
  R("lower hard", set(RLIMIT_NOFILE, 100, 190));
  show_limit("nofile", RLIMIT_NOFILE);
  if (g_root) {
    become_nobody();
    R("nobody raises hard", set(RLIMIT_NOFILE, 100, 195));
    R("nobody lowers hard", set(RLIMIT_NOFILE, 100, 180));
    R("nobody raises soft", set(RLIMIT_NOFILE, 180, 180));
    R("nobody raises hard again", set(RLIMIT_NOFILE, 180, 185));
    R("nobody sets the same", set(RLIMIT_NOFILE, 180, 180));
    show_limit("nofile", RLIMIT_NOFILE);
  } else {
    printf("another uid: skipped\n");
  }
}

/* ---- inheritance: fork, exec, prlimit on another process ---- */

static const char *g_self;

static void inherit_child(void) {
  set(RLIMIT_NOFILE, 77, 99);
  set(RLIMIT_FSIZE, 5000, 6000);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    show_limit("forked nofile", RLIMIT_NOFILE);
    show_limit("forked fsize", RLIMIT_FSIZE);
    fflush(stdout);
    execl(g_self, g_self, "--show", (char *)NULL);
    printf("exec: %s\n", errname(errno));
    _exit(1);
  }
  waitpid(pid, NULL, 0);
}

static void prlimit_other_child(void) {
  int to_child[2], from_child[2];
  set(RLIMIT_NOFILE, 50, 60);
  if (pipe(to_child) < 0 || pipe(from_child) < 0)
    return;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    char c;
    close(to_child[1]);
    close(from_child[0]);
    if (write(from_child[1], "r", 1) != 1 || read(to_child[0], &c, 1) != 1)
      _exit(1);
    show_limit("target after prlimit", RLIMIT_NOFILE);
    fflush(stdout);
    _exit(0);
  }
  close(to_child[0]);
  close(from_child[1]);
  char c;
  if (read(from_child[0], &c, 1) != 1)
    return;
  struct rlimit nw = {33, 44}, old;
  R("prlimit other", prlimit(pid, RLIMIT_NOFILE, &nw, &old));
  printf("prlimit other old: %llu:%llu\n", (unsigned long long)old.rlim_cur,
         (unsigned long long)old.rlim_max);
  R("prlimit other read", prlimit(pid, RLIMIT_NOFILE, NULL, &old));
  printf("prlimit other now: %llu:%llu\n", (unsigned long long)old.rlim_cur,
         (unsigned long long)old.rlim_max);
  R("prlimit no such pid", prlimit(0x3ffffff, RLIMIT_NOFILE, NULL, &old));
  R("prlimit negative pid", prlimit(-5, RLIMIT_NOFILE, NULL, &old));
  if (write(to_child[1], "g", 1) != 1)
    return;
  waitpid(pid, NULL, 0);
  if (!g_root) {
    printf("prlimit of another uid: skipped\n");
    return;
  }
  /* A process of another uid may not touch ours, nor we (root) theirs
   * being refused. */
  pid_t me = getpid();
  fflush(stdout);
  pid = fork();
  if (pid == 0) {
    become_nobody();
    R("nobody prlimit of root's", prlimit(me, RLIMIT_NOFILE, NULL, &old));
    fflush(stdout);
    _exit(0);
  }
  waitpid(pid, NULL, 0);
}

/* ---- RLIMIT_NOFILE ---- */

static int lowest_free(void) {
  int fd = dup(0);
  if (fd >= 0)
    close(fd);
  return fd;
}

static void nofile_child(void) {
  /* Descriptors 0..2 are open; fill everything up to 15. */
  R("set nofile 16", set(RLIMIT_NOFILE, 16, 16));
  int last = -1, fd;
  while ((fd = open("/dev/null", O_RDONLY)) >= 0)
    last = fd;
  printf("open until failure: last %d, then %s\n", last, errname(errno));
  R("dup when full", dup(0));
  R("F_DUPFD when full", fcntl(0, F_DUPFD, 3));
  R("F_DUPFD at the limit", fcntl(0, F_DUPFD, 16));
  R("F_DUPFD_CLOEXEC above", fcntl(0, F_DUPFD_CLOEXEC, 100));
  R("dup2 to the limit", dup2(0, 16));
  R("dup2 below the limit", dup2(0, 15));
  R("dup3 to the limit", dup3(0, 16, O_CLOEXEC));
  R("eventfd when full", eventfd(0, 0));
  int p[2];
  R("pipe when full", pipe(p));
  R("openat when full", openat(AT_FDCWD, "/", O_RDONLY | O_DIRECTORY));
  close(15);
  R("pipe with one free", pipe(p));
  R("open with one free", open("/dev/null", O_RDONLY));
  close(14);
  close(15);
  R("pipe with two free", pipe(p));
  /* Lower the limit below open descriptors: they stay and work. */
  R("lower to 8", set(RLIMIT_NOFILE, 8, 16));
  R("fd 12 still open", fcntl(12, F_GETFD));
  R("read fd 12", read(12, p, 1));
  R("dup of fd 12", dup(12));
  R("dup2 onto fd 12", dup2(0, 12));
  R("close fd 12", close(12));
  for (int i = 3; i < 16; i++)
    close(i);
  R("lowest free after closing", lowest_free());
  R("open at 8", open("/dev/null", O_RDONLY));
  R("raise soft again", set(RLIMIT_NOFILE, 16, 16));
  R("open again", open("/dev/null", O_RDONLY));
  /* A limit of 0: nothing new at all. */
  R("set nofile 0", set(RLIMIT_NOFILE, 0, 16));
  R("dup with limit 0", dup(0));
  R("close 0 still works", close(0));
}

/* Descriptors above a lowered limit: close_range and exec's close-on-exec
 * still reach them. */
static void nofile_above_child(void) {
  set(RLIMIT_NOFILE, 32, 32);
  R("dup2 to 20", dup2(0, 20));
  R("dup2 to 21", dup2(0, 21));
  R("dup2 to 22", dup2(0, 22));
  R("dup2 to 25", dup2(0, 25));
  R("cloexec on 20", fcntl(20, F_SETFD, FD_CLOEXEC));
  R("lower to 8 again", set(RLIMIT_NOFILE, 8, 8));
  R("close_range 23..", syscall(SYS_close_range, 23, ~0u, 0));
  R("fd 25 after close_range", fcntl(25, F_GETFD));
  R("close_range cloexec 22..", syscall(SYS_close_range, 22, ~0u, 4));
  R("fd 22 flags", fcntl(22, F_GETFD));
  R("close_range 21", syscall(SYS_close_range, 21, 21, 0));
  R("fd 21 after close_range", fcntl(21, F_GETFD));
  fflush(stdout);
  execl(g_self, g_self, "--fd20", (char *)NULL);
  printf("exec: %s\n", errname(errno));
}

/* ---- RLIMIT_FSIZE ---- */

static volatile sig_atomic_t g_xfsz;
static void on_xfsz(int sig) {
  (void)sig;
  g_xfsz++;
}

static void fsize_child(void) {
  enter_workdir("rlimits");
  signal(SIGXFSZ, on_xfsz);
  static char buf[3000];
  memset(buf, 'x', sizeof buf);
  int fd = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
  R("set fsize 1000", set(RLIMIT_FSIZE, 1000, 2000));
  R("write 600", write(fd, buf, 600));
  R("write 600 more (cut)", write(fd, buf, 600));
  printf("sigxfsz so far: %d\n", (int)g_xfsz);
  R("write at the limit", write(fd, buf, 1));
  printf("sigxfsz after: %d\n", (int)g_xfsz);
  R("pwrite past", pwrite(fd, buf, 10, 5000));
  R("pwrite below", pwrite(fd, buf, 10, 100));
  R("pwrite across", pwrite(fd, buf, 100, 950));
  R("ftruncate to the limit", ftruncate(fd, 1000));
  R("ftruncate past", ftruncate(fd, 1001));
  R("ftruncate shrink", ftruncate(fd, 10));
  R("truncate past", truncate("f", 4000));
  printf("sigxfsz total: %d\n", (int)g_xfsz);
  struct stat st;
  fstat(fd, &st);
  printf("size: %lld\n", (long long)st.st_size);
  /* Pipes are not files: no limit. */
  int p[2];
  if (pipe(p) == 0) {
    R("pipe write past", write(p[1], buf, 2000));
    close(p[0]);
    close(p[1]);
  }
  /* Ignored: only EFBIG. */
  signal(SIGXFSZ, SIG_IGN);
  lseek(fd, 0, SEEK_END);
  R("write after ignore (cut)", write(fd, buf, 2000));
  R("write after ignore", write(fd, buf, 10));
  R("soft up to the hard limit", set(RLIMIT_FSIZE, 2000, 2000));
  R("lower again", set(RLIMIT_FSIZE, 10, 20));
  signal(SIGXFSZ, SIG_DFL);
  leave_workdir(); /* the open file stays usable */
  fflush(stdout);
  /* The default action ends the process. */
  write(fd, buf, 100);
  printf("not reached\n");
}

/* ---- RLIMIT_CPU ---- */

static volatile sig_atomic_t g_xcpu;
static volatile rlim_t g_soft_seen[4];
static struct timespec g_cpu_seen[4];

static void on_xcpu(int sig) {
  (void)sig;
  struct rlimit r;
  int n = g_xcpu;
  if (n < 4) {
    getrlimit(RLIMIT_CPU, &r);
    g_soft_seen[n] = r.rlim_cur;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &g_cpu_seen[n]);
  }
  g_xcpu = n + 1;
}

static double wall_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static long cpu_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Spin until want SIGXCPU came, or (if they never come) the process used
 * want + 3 s of CPU time; a loaded machine makes it slower, not different.
 * A wall-clock bound too, in case CPU time stops counting. */
static void spin_for_xcpu(int want) {
  double t0 = wall_now();
  while (g_xcpu < want && cpu_ms() < (want + 3) * 1000L &&
         wall_now() - t0 < 300)
    for (volatile int i = 0; i < 100000; i++)
      ;
}

static void cpu_soft_child(void) {
  signal(SIGXCPU, on_xcpu);
  R("set cpu 1:3", set(RLIMIT_CPU, 1, 3));
  spin_for_xcpu(2);
  printf("sigxcpu: %d\n", (int)g_xcpu);
  /* Linux's own accounting runs ahead of CLOCK_PROCESS_CPUTIME_ID on a
   * loaded machine (seen: the first SIGXCPU at 0.78 s of it): only
   * rough bounds. */
  long ms[2] = {0, 0};
  for (int i = 0; i < 2 && i < g_xcpu; i++) {
    ms[i] = g_cpu_seen[i].tv_sec * 1000 + g_cpu_seen[i].tv_nsec / 1000000;
    printf("sigxcpu %d: soft now %llu\n", i + 1,
           (unsigned long long)g_soft_seen[i]);
    if (getenv("RLIMITS_DEBUG"))
      fprintf(stderr, "sigxcpu %d at %ld ms\n", i + 1, ms[i]);
  }
  FACT("first sigxcpu after 0.5 s of CPU time", ms[0] >= 500);
  FACT("second one later by 0.3 s or more", ms[1] >= ms[0] + 300);
  show_limit("cpu after", RLIMIT_CPU);
}

static void cpu_hard_child(void) {
  signal(SIGXCPU, on_xcpu);
  R("set cpu 1:1", set(RLIMIT_CPU, 1, 1));
  fflush(stdout);
  spin_for_xcpu(1);
  printf("not killed; sigxcpu %d\n", (int)g_xcpu);
}

static void cpu_default_child(void) {
  /* The default action of SIGXCPU ends the process (with a core). */
  R("set cpu 1:2", set(RLIMIT_CPU, 1, 2));
  fflush(stdout);
  spin_for_xcpu(1);
  printf("not killed\n");
}

/* prlimit of RLIMIT_CPU on another process while it spins: the limit
 * takes effect there (SIGKILL once it has used a second). */
static void cpu_other_child(void) {
  int ready[2];
  if (pipe(ready) < 0)
    return;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(ready[0]);
    if (write(ready[1], "r", 1) != 1)
      _exit(1);
    spin_for_xcpu(1); /* bounded by 4 s of CPU time */
    _exit(0);
  }
  close(ready[1]);
  char c;
  if (read(ready[0], &c, 1) != 1)
    return;
  struct rlimit r = {1, 1};
  R("prlimit cpu 1:1 of a spinning child", prlimit(pid, RLIMIT_CPU, &r, NULL));
  int st;
  waitpid(pid, &st, 0);
  if (WIFSIGNALED(st))
    printf("spinning child killed by signal %d\n", WTERMSIG(st));
  else
    printf("spinning child exit %d\n", WEXITSTATUS(st));
}

/* ---- RLIMIT_NPROC ---- */

static void *idle_thread(void *arg) {
  (void)arg;
  return NULL;
}

static void nproc_root_child(void) {
  /* uid 0 is exempt (CAP_SYS_ADMIN, CAP_SYS_RESOURCE or the initial
   * namespace's root). */
  R("root sets nproc 1", set(RLIMIT_NPROC, 1, 1));
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0)
    _exit(0);
  printf("root forks past nproc: %s\n", pid > 0 ? "ok" : errname(errno));
  if (pid > 0)
    waitpid(pid, NULL, 0);
}

static void nproc_child(void) {
  if (!g_root) {
    printf("nproc: skipped\n");
    return;
  }
  R("set nproc 3", set(RLIMIT_NPROC, 3, 3));
  become_nobody();
  /* This process is the one task of its uid: two more may exist. */
  int made = 0, err = 0;
  pid_t pid, kids[8];
  int p[2];
  if (pipe(p) < 0)
    return;
  fflush(stdout);
  for (int i = 0; i < 8; i++) {
    pid_t k = fork();
    if (k == 0) {
      char c;
      close(p[1]);
      read(p[0], &c, 1); /* until the parent closes its end */
      _exit(0);
    }
    if (k < 0) {
      err = errno;
      break;
    }
    kids[made++] = k;
  }
  printf("nobody forked %d, then %s\n", made, errname(err));
  pthread_t th;
  int e = pthread_create(&th, NULL, idle_thread, NULL);
  printf("thread at the limit: %s\n", e ? errname(e) : "ok");
  if (!e)
    pthread_join(th, NULL);
  close(p[1]);
  close(p[0]);
  /* Zombies still count until they are reaped. */
  struct timespec ms = {0, 100 * 1000 * 1000};
  nanosleep(&ms, NULL);
  pid = fork();
  if (pid == 0)
    _exit(0);
  printf("fork with zombies left: %s\n", pid > 0 ? "ok" : errname(errno));
  if (pid > 0)
    waitpid(pid, NULL, 0);
  if (made > 0)
    waitpid(kids[0], NULL, 0);
  pid = fork();
  if (pid == 0)
    _exit(0);
  printf("fork after reaping one: %s\n", pid > 0 ? "ok" : errname(errno));
  if (pid > 0)
    waitpid(pid, NULL, 0);
  for (int i = 1; i < made; i++)
    waitpid(kids[i], NULL, 0);
  /* Raising it without CAP_SYS_RESOURCE fails; lowering works. */
  R("nobody raises nproc hard", set(RLIMIT_NPROC, 3, 10));
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && !strcmp(argv[1], "--show")) {
    show_limit("exec'd nofile", RLIMIT_NOFILE);
    show_limit("exec'd fsize", RLIMIT_FSIZE);
    return 0;
  }
  if (argc > 1 && !strcmp(argv[1], "--fd20")) {
    R("fd 20 after exec (close-on-exec)", fcntl(20, F_GETFD));
    R("fd 22 after exec (close-on-exec)", fcntl(22, F_GETFD));
    R("fd 0 after exec", fcntl(0, F_GETFD));
    return 0;
  }
  g_self = argv[0];
  g_root = geteuid() == 0;
  g_nobody = 50000 + getpid() % 10000;
  in_child("rules", rules_child);
  in_child("inherit", inherit_child);
  in_child("prlimit other", prlimit_other_child);
  in_child("nofile", nofile_child);
  in_child("nofile above", nofile_above_child);
  in_child("fsize", fsize_child);
  if (g_root)
    in_child("nproc root", nproc_root_child);
  in_child("nproc", nproc_child);
  in_child("cpu soft", cpu_soft_child);
  in_child("cpu hard", cpu_hard_child);
  in_child("cpu default", cpu_default_child);
  in_child("cpu of another", cpu_other_child);
  return 0;
}
