/* alarm and setitimer(ITIMER_REAL): pause interrupted, a periodic timer
 * interrupting a busy loop, EINTR of a blocked read, alarm(0) returning
 * the seconds left, and death by the default SIGALRM (status 142). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>
static volatile int n;
static void h(int s) {
  (void)s;
  n++;
}
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = h;
  sigaction(SIGALRM, &sa, NULL);
  alarm(1);
  int r = pause();
  printf("pause %d %s n=%d\n", r, strerror(errno), n);
  struct itimerval it = {{0, 20000}, {0, 20000}};
  setitimer(ITIMER_REAL, &it, NULL);
  while (n < 6)
    ; /* busy guest code: the timer must interrupt it */
  printf("busy loop got %d\n", n >= 6);
  char b;
  int fds[2];
  pipe(fds);
  r = read(fds[0], &b, 1);
  printf("read %d %s\n", r, strerror(errno));
  it.it_value.tv_usec = 0;
  it.it_interval.tv_usec = 0;
  setitimer(ITIMER_REAL, &it, NULL);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGALRM, &sa, NULL);
  alarm(2);
  printf("alarm left %u\n", alarm(0));
  signal(SIGALRM, SIG_DFL);
  alarm(1);
  for (;;)
    pause();
}
