/* Signals between processes: a handler in a child that only spins,
 * SIGKILL and SIGTERM (default actions) to running and blocked children,
 * SIGSTOP/SIGCONT with WUNTRACED/WCONTINUED, exit status, orphan
 * re-parenting, SIGCHLD with SA_SIGINFO fields, WNOHANG. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
static volatile sig_atomic_t got;
static volatile int from_pid, code;
static void h(int s, siginfo_t *si, void *c) {
  got = s;
  from_pid = si->si_pid;
  code = si->si_code;
}
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = h;
  sa.sa_flags = SA_SIGINFO;
  sigaction(SIGUSR1, &sa, NULL);
  int fds[2];
  pipe(fds);
  /* 1: child busy-loops in guest code; parent sends SIGUSR1 then SIGKILL */
  pid_t c = fork();
  if (c == 0) {
    sigaction(SIGUSR1, &sa, NULL);
    write(fds[1], "x", 1);
    while (!got)
      ;
    printf("child got %d from parent? %d code %d\n", got, from_pid == getppid(),
           code);
    fflush(stdout);
    for (;;)
      ;
  }
  char b;
  read(fds[0], &b, 1);
  kill(c, SIGUSR1);
  usleep(100000);
  kill(c, SIGKILL);
  int st;
  pid_t w = waitpid(c, &st, 0);
  printf("waited %d signaled %d sig %d\n", w == c, WIFSIGNALED(st),
         WTERMSIG(st));
  /* 2: child blocked in read gets SIGTERM default -> dies */
  c = fork();
  if (c == 0) {
    char x;
    read(fds[0], &x, 1);
    _exit(3);
  }
  usleep(50000);
  kill(c, SIGTERM);
  waitpid(c, &st, 0);
  printf("blocked child: signaled %d sig %d\n", WIFSIGNALED(st), WTERMSIG(st));
  /* 3: stop / continue */
  c = fork();
  if (c == 0) {
    for (;;)
      pause();
  }
  kill(c, SIGSTOP);
  w = waitpid(c, &st, WUNTRACED);
  printf("stopped %d sig %d\n", WIFSTOPPED(st), WSTOPSIG(st));
  kill(c, SIGCONT);
  w = waitpid(c, &st, WCONTINUED);
  printf("continued %d\n", WIFCONTINUED(st));
  kill(c, SIGKILL);
  waitpid(c, &st, 0);
  /* 4: exit status, orphan reparent */
  c = fork();
  if (c == 0) {
    pid_t g = fork();
    if (g == 0) {
      usleep(200000);
      printf("orphan ppid is 1: %d\n", getppid() == 1);
      fflush(stdout);
      _exit(0);
    }
    _exit(7);
  }
  waitpid(c, &st, 0);
  printf("exit %d\n", WEXITSTATUS(st));
  usleep(400000);
  /* 5: SIGCHLD handler */
  sigaction(SIGCHLD, &sa, NULL);
  got = 0;
  c = fork();
  if (c == 0)
    _exit(0);
  while (!got)
    pause();
  printf("sigchld %d code %d pid ok %d\n", got == SIGCHLD, code, from_pid == c);
  waitpid(c, &st, 0);
  /* 6: WNOHANG, ECHILD */
  printf("nohang %d\n", waitpid(-1, &st, WNOHANG));
  return 0;
}
