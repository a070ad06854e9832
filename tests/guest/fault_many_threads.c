/* 100 threads touch the same pages of a private file mapping at once
 * (each page read by all of them the moment they are released): every
 * read sees the file's bytes and none faults. moat fills such a page on
 * the first fault; a thread that faulted while another filled it runs
 * its access again, once (the thread's own note, in the core's task; it
 * was a 64-slot table of the process, which more than 64 such threads
 * would have filled). Prints the same lines natively and in the
 * sandbox. */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define THREADS 100
#define PAGES 64
#define ROUNDS 8

static char *g_map[ROUNDS];
static pthread_barrier_t g_bar;
static long g_sum[THREADS];

static void *toucher(void *arg) {
  long k = (long)arg;
  for (int r = 0; r < ROUNDS; r++) {
    pthread_barrier_wait(&g_bar);
    for (int p = 0; p < PAGES; p++)
      g_sum[k] += (unsigned char)g_map[r][(size_t)p * 4096 + (k % 4096)];
  }
  return NULL;
}

int main(void) {
  char path[] = "/tmp/moat-fault-many-XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) {
    perror("mkstemp");
    return 1;
  }
  unlink(path);
  static char page[4096];
  for (int p = 0; p < PAGES; p++) {
    memset(page, p + 1, sizeof(page));
    if (write(fd, page, sizeof(page)) != (ssize_t)sizeof(page))
      return 1;
  }
  for (int r = 0; r < ROUNDS; r++) {
    g_map[r] = mmap(NULL, (size_t)PAGES * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (g_map[r] == MAP_FAILED) {
      perror("mmap");
      return 1;
    }
  }
  pthread_barrier_init(&g_bar, NULL, THREADS);
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 64 << 10);
  pthread_t t[THREADS];
  for (long k = 0; k < THREADS; k++)
    pthread_create(&t[k], &at, toucher, (void *)k);
  for (int k = 0; k < THREADS; k++)
    pthread_join(t[k], NULL);
  long want = 0;
  for (int p = 0; p < PAGES; p++)
    want += p + 1;
  want *= ROUNDS;
  int right = 0;
  for (int k = 0; k < THREADS; k++)
    right += g_sum[k] == want;
  printf("%d threads, %d rounds of %d pages: %d read every byte right\n",
         THREADS, ROUNDS, PAGES, right);
  return 0;
}
