/* What /proc/PID/stat and /proc/PID/status say about another process:
 * its state (S while blocked in pause, sigsuspend, a pipe read, wait4,
 * nanosleep, a futex wait, poll, select; T while stopped; Z once a zombie;
 * R while it spins) and its CPU time (utime advances while it spins, seen
 * by the parent and by the child itself; cutime after the wait). Test
 * harnesses wait for a child to reach S before they signal it, so a
 * wrong state hangs them. With the argument "maps": map one-page
 * mappings of alternating protection until mmap fails, and say where it
 * failed (Linux: ENOMEM at vm.max_map_count, 65530); "maps time" also
 * says how many and how long on stderr (bench/). Output is identical
 * natively and in moat: states and yes/no, never pids or times. */
#include "guest.h"

#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

#define FUTEX_WAIT_OP 0 /* FUTEX_WAIT (musl has no linux/futex.h) */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The state letter and utime (field 14) of /proc/pid/stat; 0 when
 * unreadable. */
static char stat_state(int pid, unsigned long long *utime,
                       unsigned long long *cutime) {
  char path[64], buf[1024];
  snprintf(path, sizeof(path), "/proc/%d/stat", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  if (!p || p[1] != ' ')
    return 0;
  char state = p[2];
  /* Fields after the state: 4 ppid ... 14 utime, 15 stime, 16 cutime. */
  unsigned long long f[14] = {0};
  char *s = p + 3;
  for (int i = 4; i <= 16 && s; i++) {
    f[i - 4] = strtoull(s, &s, 10);
  }
  if (utime)
    *utime = f[14 - 4];
  if (cutime)
    *cutime = f[16 - 4];
  return state;
}

/* The first letter of the State: line of /proc/pid/status. */
static char status_state(int pid) {
  char path[64], buf[4096];
  snprintf(path, sizeof(path), "/proc/%d/status", pid);
  int fd = open(path, O_RDONLY);
  if (fd < 0)
    return 0;
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  close(fd);
  if (n <= 0)
    return 0;
  buf[n] = 0;
  char *p = strstr(buf, "\nState:\t");
  return p ? p[8] : 0;
}

/* Wait (up to 10 s) until both files show want; print what was seen. */
static void expect_state(const char *what, int pid, char want) {
  int64_t end = now_ms() + 10000;
  char a = 0, b = 0;
  while (now_ms() < end) {
    a = stat_state(pid, NULL, NULL);
    b = status_state(pid);
    if (a == want && b == want)
      break;
    usleep(1000);
  }
  printf("%s: stat %c status %c\n", what, a ? a : '?', b ? b : '?');
}

static void kill_and_reap(int pid) {
  kill(pid, SIGKILL);
  int st;
  waitpid(pid, &st, 0);
}

static int pipefd[2];
static uint32_t futex_word;

static void on_usr1(int sig) {
  (void)sig;
}

static void child_block(int how) {
  switch (how) {
  case 0:
    pause();
    break;
  case 1: {
    sigset_t none;
    sigemptyset(&none);
    sigsuspend(&none);
    break;
  }
  case 2: {
    char c;
    read(pipefd[0], &c, 1);
    break;
  }
  case 3: {
    int g = fork();
    if (g == 0) {
      pause();
      _exit(0);
    }
    int st;
    waitpid(g, &st, 0);
    break;
  }
  case 4: {
    struct timespec ts = {1000, 0};
    nanosleep(&ts, NULL);
    break;
  }
  case 5:
    syscall(SYS_futex, &futex_word, FUTEX_WAIT_OP, 0, NULL, NULL, 0);
    break;
  case 6: {
    struct pollfd p = {.fd = pipefd[0], .events = POLLIN};
    poll(&p, 1, -1);
    break;
  }
  case 7: {
    fd_set r;
    FD_ZERO(&r);
    FD_SET(pipefd[0], &r);
    select(pipefd[0] + 1, &r, NULL, NULL, NULL);
    break;
  }
  }
  _exit(0);
}

static void blocked_cases(void) {
  static const char *names[] = {"pause", "sigsuspend", "pipe read",
                                "wait4", "nanosleep",  "futex wait",
                                "poll",  "select"};
  for (int how = 0; how < 8; how++) {
    if (pipe(pipefd) < 0) {
      printf("pipe: %s\n", errname(errno));
      return;
    }
    fflush(stdout);
    int pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      child_block(how);
    }
    setpgid(pid, pid);
    expect_state(names[how], pid, 'S');
    kill(-pid, SIGKILL); /* the wait4 case's grandchild too */
    kill_and_reap(pid);
    close(pipefd[0]);
    close(pipefd[1]);
  }
}

/* A handled signal wakes pause: the child is R or S again, then S. */
static void signal_while_blocked(void) {
  fflush(stdout);
  int pid = fork();
  if (pid == 0) {
    signal(SIGUSR1, on_usr1);
    for (;;)
      pause();
  }
  expect_state("pause (handler)", pid, 'S');
  kill(pid, SIGUSR1);
  expect_state("pause again after SIGUSR1", pid, 'S');
  kill(pid, SIGSTOP);
  int st;
  waitpid(pid, &st, WUNTRACED);
  printf("stopped: %s\n", WIFSTOPPED(st) ? "yes" : "no");
  expect_state("SIGSTOP", pid, 'T');
  kill(pid, SIGCONT);
  expect_state("SIGCONT (back in pause)", pid, 'S');
  kill_and_reap(pid);
}

static void zombie_case(void) {
  fflush(stdout);
  int pid = fork();
  if (pid == 0)
    _exit(3);
  expect_state("exited, not waited for", pid, 'Z');
  int st;
  waitpid(pid, &st, 0);
  printf("reaped: exit %d; /proc entry after: %s\n", WEXITSTATUS(st),
         stat_state(pid, NULL, NULL) ? "present" : "gone");
}

static volatile unsigned long long spin_sink;

static void spin_cases(void) {
  /* The child spins until its own utime has advanced 2 ticks. */
  fflush(stdout);
  int pid = fork();
  if (pid == 0) {
    unsigned long long u0 = 0, u = 0;
    stat_state(getpid(), &u0, NULL);
    int64_t end = now_ms() + 20000;
    while (now_ms() < end) {
      for (int i = 0; i < 100000; i++)
        spin_sink += i;
      stat_state(getpid(), &u, NULL);
      if (u >= u0 + 2)
        _exit(0);
    }
    _exit(1);
  }
  int st;
  waitpid(pid, &st, 0);
  printf("child saw its own utime advance: %s\n",
         WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "yes" : "no");
  unsigned long long cut = 0;
  stat_state(getpid(), NULL, &cut);
  printf("cutime after the wait: %s\n", cut >= 2 ? ">= 2 ticks" : "less");

  /* The parent watches a child that spins without a system call. */
  fflush(stdout);
  pid = fork();
  if (pid == 0)
    for (;;)
      spin_sink++;
  unsigned long long u0 = 0, u = 0;
  char s0 = stat_state(pid, &u0, NULL);
  int64_t end = now_ms() + 20000;
  bool all_r = s0 == 'R', advanced = false;
  while (now_ms() < end) {
    usleep(20000);
    char s = stat_state(pid, &u, NULL);
    all_r &= s == 'R';
    if (u >= u0 + 5) {
      advanced = true;
      break;
    }
  }
  printf("spinning child: always R: %s, utime advanced: %s\n",
         all_r ? "yes" : "no", advanced ? "yes" : "no");
  kill_and_reap(pid);
}

/* Map one page at a time, alternating PROT_READ and PROT_NONE so that
 * neighbours never merge, until mmap fails. */
static void map_limit(bool timing) {
  int64_t t0 = now_ms();
  long n = 0;
  int err = 0;
  for (;;) {
    void *p = mmap(NULL, 4096, (n & 1) ? PROT_NONE : PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      err = errno;
      break;
    }
    n++;
    if (n > 1000000)
      break;
  }
  int64_t ms = now_ms() - t0;
  printf("map limit: %s after %s mappings\n", err ? errname(err) : "none",
         n >= 65000 && n <= 65536 ? "65000..65536" : "another count");
  if (timing) /* bench/: how long it took */
    fprintf(stderr, "map limit: %ld mappings in %lld ms\n", n, (long long)ms);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 1 && !strcmp(argv[1], "maps")) {
    map_limit(argc > 2 && !strcmp(argv[2], "time"));
    return 0;
  }
  blocked_cases();
  signal_while_blocked();
  zombie_case();
  spin_cases();
  return 0;
}
