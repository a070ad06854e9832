/* execve from a process with a spinning and a sleeping thread, and from
 * a secondary thread (argument "thread"): the other threads end first
 * and the exec'd program carries the process's id. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *spin(void *a) {
  for (;;)
    ;
  return a;
}
static char *self;
static void *exec_from_thread(void *a) {
  usleep(20000);
  execl(self, self, "again", (char *)0);
  perror("execl");
  return a;
}
static void *sleeper(void *a) {
  sleep(100);
  return a;
}
int main(int argc, char **argv) {
  if (argc > 1 && argv[1][0] == 'a') {
    printf("exec'd, pid is the tid: %d\n", getpid() == gettid());
    return 0;
  }
  self = argv[0];
  if (argc > 1) {
    pthread_t t;
    pthread_create(&t, NULL, exec_from_thread, NULL);
    pause();
  }
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_t t;
  pthread_create(&t, NULL, spin, NULL);
  pthread_create(&t, NULL, sleeper, NULL);
  usleep(50000);
  printf("pid before %d\n", getpid() > 0);
  execl("/proc/self/exe", argv[0], "again", (char *)0);
  perror("execl");
  return 1;
}
