/* 16 threads taking turns in a ring through one mutex and condition
 * variable (3200 hand-offs) plus a semaphore: futex wake/wait under
 * contention across host threads. */
#include <pthread.h>
#include <stdio.h>
#include <semaphore.h>
#define N 16
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static int turn;
static sem_t s;
static void *run(void *a) {
  long id = (long)a;
  for (int r = 0; r < 200; r++) {
    pthread_mutex_lock(&m);
    while (turn % N != id)
      pthread_cond_wait(&c, &m);
    turn++;
    pthread_cond_broadcast(&c);
    pthread_mutex_unlock(&m);
    sem_post(&s);
  }
  return 0;
}
int main(void) {
  pthread_t t[N];
  sem_init(&s, 0, 0);
  for (long i = 0; i < N; i++)
    pthread_create(&t[i], 0, run, (void *)i);
  for (int i = 0; i < N * 200; i++)
    sem_wait(&s);
  for (int i = 0; i < N; i++)
    pthread_join(t[i], 0);
  printf("turn %d\n", turn);
  return 0;
}
