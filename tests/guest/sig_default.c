/* Default actions of every standard signal and two real-time ones, sent by
 * the parent to a child blocked in read(2): terminate (with the signal as
 * the wait status), ignore (the child lives on and exits 0), stop (seen by
 * WUNTRACED, then SIGCONT lets it finish). The child is in its own process
 * group, so the stop signals are not discarded as for an orphaned group.
 * Then a fault whose signal is blocked or ignored: it still kills. */
#include <signal.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include "guest.h"

static void show(const char *name, int st) {
  if (WIFEXITED(st))
    printf("%s: exited %d\n", name, WEXITSTATUS(st));
  else if (WIFSIGNALED(st))
    printf("%s: killed by %d\n", name, WTERMSIG(st));
  else if (WIFSTOPPED(st))
    printf("%s: stopped by %d\n", name, WSTOPSIG(st));
}

static void one(const char *name, int sig) {
  int ready[2], go[2];
  if (pipe(ready) < 0 || pipe(go) < 0)
    exit(2);
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    close(ready[0]);
    close(go[1]);
    if (write(ready[1], "r", 1) != 1)
      _exit(3);
    char c;
    ssize_t n;
    do
      n = read(go[0], &c, 1);
    while (n < 0 && errno == EINTR);
    _exit(n == 1 ? 0 : 4);
  }
  setpgid(p, p);
  close(ready[1]);
  close(go[0]);
  char c;
  if (read(ready[0], &c, 1) != 1)
    exit(2);
  kill(p, sig);
  /* give the signal's action time to show; only a child that is still
   * running after that gets the byte that lets it exit 0 */
  int st = 0;
  pid_t w = 0;
  for (int i = 0; i < 60 && w == 0; i++) {
    w = waitpid(p, &st, WNOHANG | WUNTRACED);
    if (w == 0)
      usleep(5000);
  }
  if (w == 0) {
    if (write(go[1], "g", 1) != 1)
      printf("%s: write %s\n", name, errname(errno));
    waitpid(p, &st, WUNTRACED);
  }
  show(name, st);
  if (WIFSTOPPED(st)) {
    kill(p, SIGCONT);
    if (write(go[1], "g", 1) != 1)
      printf("%s: write %s\n", name, errname(errno));
    waitpid(p, &st, 0);
    show("  after SIGCONT", st);
  }
  close(ready[0]);
  close(go[1]);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN); /* a killed child must not take us along */
  static const struct {
    const char *name;
    int sig;
  } sigs[] = {
      {"SIGHUP", SIGHUP},       {"SIGINT", SIGINT},   {"SIGQUIT", SIGQUIT},
      {"SIGILL", SIGILL},       {"SIGTRAP", SIGTRAP}, {"SIGABRT", SIGABRT},
      {"SIGBUS", SIGBUS},       {"SIGFPE", SIGFPE},   {"SIGUSR1", SIGUSR1},
      {"SIGSEGV", SIGSEGV},     {"SIGUSR2", SIGUSR2}, {"SIGPIPE", SIGPIPE},
      {"SIGALRM", SIGALRM},     {"SIGTERM", SIGTERM}, {"SIGSTKFLT", SIGSTKFLT},
      {"SIGCHLD", SIGCHLD},     {"SIGCONT", SIGCONT}, {"SIGSTOP", SIGSTOP},
      {"SIGTSTP", SIGTSTP},     {"SIGTTIN", SIGTTIN}, {"SIGTTOU", SIGTTOU},
      {"SIGURG", SIGURG},       {"SIGXCPU", SIGXCPU}, {"SIGXFSZ", SIGXFSZ},
      {"SIGVTALRM", SIGVTALRM}, {"SIGPROF", SIGPROF}, {"SIGWINCH", SIGWINCH},
      {"SIGIO", SIGIO},         {"SIGPWR", SIGPWR},   {"SIGSYS", SIGSYS},
      {"SIGRTMIN+1", 0},        {"SIGRTMAX", 0},
  };
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
    int sig = sigs[i].sig;
    if (!strcmp(sigs[i].name, "SIGRTMIN+1"))
      sig = SIGRTMIN + 1;
    else if (!strcmp(sigs[i].name, "SIGRTMAX"))
      sig = SIGRTMAX;
    one(sigs[i].name, sig);
  }

  int st;
  /* a blocked SIGSEGV from a real fault still kills */
  fflush(stdout);
  pid_t p = fork();
  if (p == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGSEGV);
    sigprocmask(SIG_BLOCK, &s, NULL);
    *(volatile int *)8 = 1;
    _exit(0);
  }
  waitpid(p, &st, 0);
  show("fault with SIGSEGV blocked", st);
  /* and an ignored one too */
  fflush(stdout);
  p = fork();
  if (p == 0) {
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
    signal(SIGSEGV, SIG_IGN);
    *(volatile int *)8 = 1;
    _exit(0);
  }
  waitpid(p, &st, 0);
  show("fault with SIGSEGV ignored", st);
  return 0;
}
