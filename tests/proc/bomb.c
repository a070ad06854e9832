/* A fork bomb (or, with the argument "threads", a thread bomb) that must
 * stop at EAGAIN under moat run --pids N; the forks are then killed with
 * kill(0, SIGTERM). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static void *sleeper(void *a) {
  pause();
  return a;
}
int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc > 1 && !strcmp(argv[1], "threads")) {
    int n = 0;
    pthread_t t;
    for (;;) {
      int e = pthread_create(&t, NULL, sleeper, NULL);
      if (e) {
        printf("threads %d stop: %s\n", n, strerror(e));
        return 0;
      }
      n++;
    }
  }
  int n = 0;
  for (;;) {
    pid_t p = fork();
    if (p < 0) {
      printf("forks %d stop: %s\n", n, strerror(errno));
      break;
    }
    if (p == 0) {
      pause();
      _exit(0);
    }
    n++;
  }
  kill(0, SIGTERM); /* the whole group, including us: handler-less -> die */
  return 0;
}
