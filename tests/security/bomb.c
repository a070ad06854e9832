/* A fork bomb and a thread bomb, run only inside moat with --pids N
 * (tests/run.py, security/fork-bomb and security/thread-bomb): the bomb
 * must end with fork/pthread_create failing with EAGAIN in the guest, and
 * the sandbox must recover (a fork works again once the bomb is killed).
 * It refuses to run unless it is pid 1, i.e. inside a sandbox: natively
 * it would be a real fork bomb on the host. */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "guest.h"

static int g_report[2];

static void msleep(int ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
    ;
}

/* Every bomb process forks until fork fails, children included. */
static void bomb_loop(void) {
  for (;;) {
    pid_t p = fork();
    if (p < 0) {
      char c = errno == EAGAIN ? 'E' : 'X';
      if (write(g_report[1], &c, 1) < 0)
        _exit(3);
      for (;;)
        pause();
    }
  }
}

static int fork_bomb(void) {
  if (pipe(g_report) < 0)
    return 2;
  pid_t root = fork();
  if (root < 0) {
    printf("first fork: %s\n", errname(errno));
    return 1;
  }
  if (root == 0) {
    setpgid(0, 0);
    close(g_report[0]);
    bomb_loop();
  }
  setpgid(root, root);
  close(g_report[1]);
  char c = 0;
  if (read(g_report[0], &c, 1) != 1) {
    printf("no report from the bomb\n");
    return 1;
  }
  printf("fork bomb: first failure %s\n",
         c == 'E' ? "EAGAIN" : "other than EAGAIN");
  msleep(200);
  kill(-root, SIGKILL);
  /* we are pid 1: the bomb's orphans are ours to reap */
  int n = 0;
  while (wait(NULL) > 0)
    n++;
  printf("bomb processes reaped: %s\n", n >= 2 ? "several" : "too few");
  fflush(stdout);
  pid_t p = fork();
  if (p == 0)
    _exit(0);
  int st = -1;
  waitpid(p, &st, 0);
  printf("fork after the bomb: %s\n", p > 0 && st == 0 ? "ok" : "failed");
  return 0;
}

static int g_stop[2];

static void *idle(void *arg) {
  char c;
  if (read(g_stop[0], &c, 1) < 0)
    return NULL;
  return NULL;
}

static int thread_bomb(void) {
  if (pipe(g_stop) < 0)
    return 2;
  static pthread_t t[70000];
  int n = 0, err = 0;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  while (n < 70000) {
    err = pthread_create(&t[n], &attr, idle, NULL);
    if (err)
      break;
    n++;
  }
  printf("thread bomb: first failure %s, threads made %s\n",
         err == EAGAIN ? "EAGAIN" : errname(err), n > 0 ? "some" : "none");
  close(g_stop[1]); /* every idle thread's read sees EOF */
  for (int i = 0; i < n; i++)
    pthread_join(t[i], NULL);
  pthread_t again;
  err = pthread_create(&again, &attr, idle, NULL);
  if (!err)
    pthread_join(again, NULL);
  printf("thread after the bomb: %s\n", err ? errname(err) : "ok");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (getpid() != 1) {
    printf("refusing to run: not pid 1, so not inside a sandbox\n");
    return 2;
  }
  if (argc >= 2 && !strcmp(argv[1], "fork"))
    return fork_bomb();
  if (argc >= 2 && !strcmp(argv[1], "thread"))
    return thread_bomb();
  printf("usage: bomb fork|thread\n");
  return 2;
}
