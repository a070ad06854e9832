/* Robust mutexes (a thread and a process dying while holding one) and a
 * process-shared mutex and condition variable in a MAP_SHARED page
 * across fork. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>
static pthread_mutex_t m;
static void *die_holding(void *a) {
  pthread_mutex_lock(&m);
  return a;
}
int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_mutexattr_t at;
  pthread_mutexattr_init(&at);
  pthread_mutexattr_setrobust(&at, PTHREAD_MUTEX_ROBUST);
  pthread_mutex_init(&m, &at);
  pthread_t t;
  pthread_create(&t, NULL, die_holding, NULL);
  pthread_join(t, NULL);
  int r = pthread_mutex_lock(&m);
  printf("robust thread: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  pthread_mutex_consistent(&m);
  pthread_mutex_unlock(&m);
  /* process-shared robust mutex and condvar in a MAP_SHARED page */
  struct sh {
    pthread_mutex_t m;
    pthread_cond_t c;
    int v;
  } *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
              -1, 0);
  pthread_mutexattr_setpshared(&at, PTHREAD_PROCESS_SHARED);
  pthread_mutex_init(&s->m, &at);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setpshared(&ca, PTHREAD_PROCESS_SHARED);
  pthread_cond_init(&s->c, &ca);
  int go[2];
  pipe(go);
  pid_t c = fork();
  if (c == 0) {
    char b;
    usleep(50000);
    pthread_mutex_lock(&s->m);
    s->v = 42;
    pthread_cond_signal(&s->c);
    pthread_mutex_unlock(&s->m);
    read(go[0], &b, 1); /* the parent is done with the mutex */
    pthread_mutex_lock(&s->m);
    _exit(0); /* dies holding it */
  }
  pthread_mutex_lock(&s->m);
  while (!s->v)
    pthread_cond_wait(&s->c, &s->m);
  printf("cross-process condvar v=%d\n", s->v);
  pthread_mutex_unlock(&s->m);
  write(go[1], "x", 1);
  waitpid(c, NULL, 0);
  r = pthread_mutex_lock(&s->m);
  printf("robust process: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : strerror(r));
  return 0;
}
