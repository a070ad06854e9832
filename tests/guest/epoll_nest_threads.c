/* Nested epoll sets polled by two threads at once: each thread has its
 * own chain of five epoll instances, the innermost watching an eventfd
 * that stays readable. Each epoll_wait on a chain's outermost set must
 * report it ready, however the two threads' calls interleave (Linux
 * counts the nesting depth per call; moat once counted it per process,
 * so two threads' depths added up past the limit). Prints the same
 * lines natively and in the sandbox. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define CHAIN 5
#define ROUNDS 20000

/* A chain of CHAIN epoll sets over a readable eventfd: the outermost. */
static int chain(void) {
  int inner = eventfd(1, EFD_CLOEXEC); /* readable from the start */
  for (int i = 0; i < CHAIN; i++) {
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = inner};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, inner, &ev) < 0) {
      perror("epoll");
      exit(1);
    }
    inner = ep;
  }
  return inner;
}

static int g_outer[2];
static long g_missed[2];

static void *poller(void *arg) {
  int k = (int)(long)arg;
  for (int i = 0; i < ROUNDS; i++) {
    struct epoll_event ev;
    if (epoll_wait(g_outer[k], &ev, 1, 0) != 1)
      g_missed[k]++;
  }
  return NULL;
}

int main(void) {
  for (int k = 0; k < 2; k++)
    g_outer[k] = chain();
  pthread_t t[2];
  for (long k = 0; k < 2; k++)
    pthread_create(&t[k], NULL, poller, (void *)k);
  for (int k = 0; k < 2; k++)
    pthread_join(t[k], NULL);
  printf("2 threads, each a chain of %d epoll sets, %d waits each: %ld "
         "missed\n",
         CHAIN, ROUNDS, g_missed[0] + g_missed[1]);
  /* and once more, alone, after all that */
  struct epoll_event ev;
  printf("alone: %d ready\n", epoll_wait(g_outer[0], &ev, 1, 0));
  return 0;
}
