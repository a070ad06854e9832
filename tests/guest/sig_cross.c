/* Signals between processes: kill and sigqueue from a child to its parent
 * and back with SA_SIGINFO fields checked (si_signo, si_code, si_pid is the
 * sender, si_value), SA_RESTART versus EINTR on a blocking pipe read
 * interrupted by alarm(), setitimer/getitimer, the signal mask and ignored
 * signals inherited across fork and across exec (the helper run by exec
 * prints what it got), pending signals not inherited by fork, SIGPIPE on a
 * pipe whose reader has gone (handler and default action), and
 * sigtimedwait for a signal sent by another process. */
#include <signal.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "guest.h"

static const char *self;
static volatile sig_atomic_t g_got, g_signo, g_code, g_pid, g_val, g_alarm;

static const char *code_name(int code) {
  switch (code) {
  case SI_USER:
    return "SI_USER";
  case SI_QUEUE:
    return "SI_QUEUE";
  case SI_TKILL:
    return "SI_TKILL";
  case SI_KERNEL:
    return "SI_KERNEL";
  default:
    return "other";
  }
}

static void on_info(int sig, siginfo_t *si, void *uc) {
  g_got++;
  g_signo = si->si_signo;
  g_code = si->si_code;
  g_pid = si->si_pid;
  g_val = si->si_value.sival_int;
}

static void on_alarm(int sig) {
  g_alarm++;
}

static void catch (int sig, void (*fn)(int, siginfo_t *, void *), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = fn;
  sa.sa_flags = SA_SIGINFO | flags;
  sigaction(sig, &sa, NULL);
}

static void catch_plain(int sig, void (*fn)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = fn;
  sa.sa_flags = flags;
  sigaction(sig, &sa, NULL);
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

static void print_mask(const char *who) {
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  printf("%s: blocked", who);
  for (int s = 1; s < 32; s++)
    if (sigismember(&cur, s))
      printf(" %d", s);
  struct sigaction sa;
  sigaction(SIGUSR2, NULL, &sa);
  printf("; SIGUSR2 %s", sa.sa_handler == SIG_IGN ? "ignored" : "default");
  sigset_t pend;
  sigpending(&pend);
  printf("; pending SIGUSR1 %d\n", sigismember(&pend, SIGUSR1));
}

static void cross_kill(void) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGRTMIN);
  sigprocmask(SIG_BLOCK, &block, &old);
  catch (SIGUSR1, on_info, 0);
  catch (SIGRTMIN, on_info, 0);
  pid_t parent = getpid();
  pid_t p = xfork();
  if (p == 0) {
    kill(parent, SIGUSR1);
    _exit(0);
  }
  waitpid(p, NULL, 0);
  g_got = 0;
  sigprocmask(SIG_SETMASK, &old, NULL); /* delivered here */
  printf("kill from child: got %d signo %d %s pid matches sender %d\n", g_got,
         g_signo, code_name(g_code), g_pid == p);

  sigprocmask(SIG_BLOCK, &block, NULL);
  p = xfork();
  if (p == 0) {
    union sigval v = {.sival_int = 1234};
    sigqueue(parent, SIGRTMIN, v);
    _exit(0);
  }
  waitpid(p, NULL, 0);
  g_got = 0;
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("sigqueue from child: got %d signo is SIGRTMIN %d %s value %d pid "
         "matches sender %d\n",
         g_got, g_signo == SIGRTMIN, code_name(g_code), g_val, g_pid == p);

  /* parent to child: the child waits in sigsuspend and answers by exit */
  sigprocmask(SIG_BLOCK, &block, NULL);
  p = xfork();
  if (p == 0) {
    g_got = 0;
    sigset_t none;
    sigemptyset(&none);
    while (!g_got)
      sigsuspend(&none);
    _exit(g_signo == SIGUSR1 && g_code == SI_USER && g_pid == parent ? 10 : 11);
  }
  kill(p, SIGUSR1);
  int st;
  waitpid(p, &st, 0);
  printf("kill to child: child checked its siginfo, status %d\n",
         WEXITSTATUS(st));

  /* sigtimedwait for a signal another process sends */
  p = xfork();
  if (p == 0) {
    kill(parent, SIGUSR1);
    _exit(0);
  }
  siginfo_t si;
  struct timespec ts = {10, 0};
  int s = sigtimedwait(&block, &si, &ts);
  waitpid(p, NULL, 0);
  printf("sigtimedwait: signo %d %s pid matches sender %d\n", s,
         code_name(si.si_code), si.si_pid == p);
  sigprocmask(SIG_SETMASK, &old, NULL);
}

static void restart_vs_eintr(void) {
  int fd[2];
  char c;
  for (int restart = 0; restart < 2; restart++) {
    if (pipe(fd) < 0)
      return;
    pid_t p = xfork();
    if (p == 0) {
      /* the writer answers only after the alarm has fired in the parent */
      close(fd[0]);
      usleep(300 * 1000);
      if (write(fd[1], "x", 1) != 1)
        _exit(1);
      _exit(0);
    }
    close(fd[1]);
    g_alarm = 0;
    catch_plain(SIGALRM, on_alarm, restart ? SA_RESTART : 0);
    struct itimerval it = {{0, 0}, {0, 50 * 1000}};
    setitimer(ITIMER_REAL, &it, NULL);
    errno = 0;
    ssize_t n = read(fd[0], &c, 1);
    int e = errno;
    printf("%s: read %ld %s, alarm handled %d\n",
           restart ? "SA_RESTART" : "no SA_RESTART", (long)n,
           n < 0 ? errname(e) : "", g_alarm);
    waitpid(p, NULL, 0);
    close(fd[0]);
  }

  /* alarm(): the remaining seconds, cancel, and death by SIGALRM */
  signal(SIGALRM, SIG_DFL);
  alarm(100);
  unsigned left = alarm(0);
  printf("alarm remaining: %d\n", left > 90 && left <= 100);
  struct itimerval it = {{0, 0}, {50, 0}}, cur;
  setitimer(ITIMER_REAL, &it, NULL);
  getitimer(ITIMER_REAL, &cur);
  printf("getitimer: %d\n", cur.it_value.tv_sec > 40);
  memset(&it, 0, sizeof it);
  setitimer(ITIMER_REAL, &it, NULL);
  getitimer(ITIMER_REAL, &cur);
  printf("getitimer after cancel: %ld\n", (long)cur.it_value.tv_sec);
  pid_t p = xfork();
  if (p == 0) {
    alarm(1);
    for (;;)
      pause();
  }
  int st;
  waitpid(p, &st, 0);
  printf("alarm default action: signaled %d sig %d\n", WIFSIGNALED(st),
         WTERMSIG(st));
}

static void masks_across_exec(void) {
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGHUP);
  sigprocmask(SIG_BLOCK, &block, &old);
  signal(SIGUSR2, SIG_IGN);
  catch (SIGUSR1, on_info, 0);
  raise(SIGUSR1); /* stays pending in the parent */
  print_mask("parent");
  pid_t p = xfork();
  if (p == 0) {
    print_mask("forked child");
    fflush(stdout);
    execl(self, self, "printmask", (char *)0);
    _exit(126);
  }
  waitpid(p, NULL, 0);
  /* a handled signal goes back to default across exec, an ignored one not */
  p = xfork();
  if (p == 0) {
    sigset_t pend;
    kill(getpid(), SIGUSR1); /* pending across exec */
    sigpending(&pend);
    printf("child before exec: pending SIGUSR1 %d\n",
           sigismember(&pend, SIGUSR1));
    fflush(stdout);
    execl(self, self, "printmask", (char *)0);
    _exit(126);
  }
  waitpid(p, NULL, 0);
  g_got = 0;
  sigprocmask(SIG_SETMASK, &old, NULL);
  printf("parent: own pending SIGUSR1 delivered %d\n", g_got);
  signal(SIGUSR2, SIG_DFL);
}

static volatile sig_atomic_t g_pipe;
static void on_pipe(int sig) {
  g_pipe++;
}

static void sigpipe(void) {
  int fd[2];
  if (pipe(fd) < 0)
    return;
  close(fd[0]);
  catch_plain(SIGPIPE, on_pipe, 0);
  errno = 0;
  ssize_t n = write(fd[1], "x", 1);
  printf("write to closed pipe: %ld %s, SIGPIPE handled %d\n", (long)n,
         errname(errno), g_pipe);
  signal(SIGPIPE, SIG_IGN);
  errno = 0;
  n = write(fd[1], "x", 1);
  printf("ignored SIGPIPE: %ld %s\n", (long)n, errname(errno));
  close(fd[1]);
  signal(SIGPIPE, SIG_DFL);
  /* the reader is another process that exits */
  if (pipe(fd) < 0)
    return;
  pid_t r = xfork();
  if (r == 0) {
    close(fd[1]);
    char c;
    ssize_t k = read(fd[0], &c, 1);
    _exit(k == 1 ? 0 : 1);
  }
  close(fd[0]);
  pid_t w = xfork();
  if (w == 0) {
    for (;;)
      if (write(fd[1], "abc", 3) < 0)
        _exit(99);
  }
  close(fd[1]);
  int st;
  waitpid(r, &st, 0);
  printf("reader exited %d\n", WEXITSTATUS(st));
  waitpid(w, &st, 0);
  printf("writer: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
}

int main(int argc, char **argv) {
  self = argv[0];
  if (argc >= 2 && !strcmp(argv[1], "printmask")) {
    print_mask("after exec");
    struct sigaction sa;
    sigaction(SIGUSR1, NULL, &sa);
    printf("after exec: SIGUSR1 handler reset to default %d\n",
           sa.sa_handler == SIG_DFL);
    return 0;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  cross_kill();
  restart_vs_eintr();
  masks_across_exec();
  sigpipe();
  printf("done\n");
  return 0;
}
