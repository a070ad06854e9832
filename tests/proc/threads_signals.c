/* Threads that spin in guest code: joined after a flag, one interrupted
 * by pthread_kill (a kick: it runs no system call), and exit(5) while four
 * still spin (exit_group must end them). Run with an argument. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
static volatile int hits[4];
static volatile int stop;
static void h(int s) {
  (void)s;
}
static void *spin(void *a) {
  long i = (long)a;
  while (!stop)
    hits[i]++;
  return NULL;
}
static void *usr(void *a) {
  (void)a;
  for (;;)
    ;
}
static void hu(int s) {
  printf("tgkill handler in thread %d\n", s);
  fflush(stdout);
  pthread_exit(NULL);
}
int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  signal(SIGUSR2, h);
  pthread_t t[4];
  for (long i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, spin, (void *)i);
  usleep(50000);
  stop = 1;
  for (int i = 0; i < 4; i++)
    pthread_join(t[i], NULL);
  printf("all spun %d\n", hits[0] && hits[1] && hits[2] && hits[3]);
  signal(SIGUSR1, hu);
  pthread_t u;
  pthread_create(&u, NULL, usr, NULL);
  usleep(20000);
  pthread_kill(u, SIGUSR1);
  pthread_join(u, NULL);
  printf("joined busy thread\n");
  stop = 0;
  for (long i = 0; i < 4; i++)
    pthread_create(&t[i], NULL, spin, (void *)i);
  usleep(20000);
  if (argc > 1)
    exit(5); /* exit_group with spinning threads */
  return 0;
}
