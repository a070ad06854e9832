/* Many threads in sigsuspend at once: each blocks SIGUSR1, waits for it
 * with an empty mask, and must wake when it comes; its handler runs with
 * sigsuspend's mask, and the blocked mask is the thread's own again
 * once sigsuspend returns. moat once kept the callers' masks in a
 * 256-slot table of the process: a thread past the 256th got its mask
 * back at once and slept in sigsuspend with SIGUSR1 blocked, for ever.
 * Prints the same lines natively and in the sandbox. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#define THREADS 300

static volatile int g_in_handler_blocked; /* USR1 blocked in a handler */
static int g_woke, g_mask_back, g_entered;
static pid_t g_tids[THREADS];

static void on_usr1(int sig) {
  sigset_t now;
  (void)sig;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  /* SA_NODEFER is not set: the handled signal is blocked in its handler */
  if (sigismember(&now, SIGUSR1))
    __atomic_add_fetch(&g_in_handler_blocked, 1, __ATOMIC_SEQ_CST);
}

static void *waiter(void *arg) {
  long k = (long)arg;
  g_tids[k] = (pid_t)syscall(SYS_gettid);
  __atomic_add_fetch(&g_entered, 1, __ATOMIC_SEQ_CST);
  sigset_t empty;
  sigemptyset(&empty);
  sigsuspend(&empty);
  __atomic_add_fetch(&g_woke, 1, __ATOMIC_SEQ_CST);
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  if (sigismember(&now, SIGUSR1))
    __atomic_add_fetch(&g_mask_back, 1, __ATOMIC_SEQ_CST);
  return NULL;
}

static void on_alarm(int sig) {
  (void)sig;
  printf("timeout: %d of %d threads woke\n", g_woke, THREADS);
  fflush(stdout);
  _exit(1);
}

int main(void) {
  struct sigaction sa = {.sa_handler = on_usr1};
  sigemptyset(&sa.sa_mask);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGALRM, on_alarm);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL); /* inherited by the threads */
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setstacksize(&at, 64 << 10);
  pthread_t t[THREADS];
  for (long k = 0; k < THREADS; k++)
    if (pthread_create(&t[k], &at, waiter, (void *)k)) {
      printf("pthread_create failed at %ld\n", k);
      return 1;
    }
  while (__atomic_load_n(&g_entered, __ATOMIC_SEQ_CST) < THREADS)
    usleep(1000);
  usleep(200000); /* most are asleep in sigsuspend by now */
  alarm(20);
  pid_t pid = getpid();
  for (int k = 0; k < THREADS; k++)
    syscall(SYS_tgkill, pid, g_tids[k], SIGUSR1);
  for (int k = 0; k < THREADS; k++)
    pthread_join(t[k], NULL);
  alarm(0);
  printf("%d threads in sigsuspend: %d woke, %d ran the handler with it "
         "blocked, %d had their mask back\n",
         THREADS, g_woke, g_in_handler_blocked, g_mask_back);
  return 0;
}
