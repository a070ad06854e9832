/* A guest thread unmaps a buffer that another of its threads is blocked in
 * a system call on. Linux answers the blocked call with EFAULT (or the
 * bytes it moved before the fault) and nothing else happens; inside moat
 * the copy runs in the library OS, which must do the same instead of
 * faulting itself (and leaving a pipe lock held for the other processes).
 * Run natively and in moat; the outputs must match. */
#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "guest.h"

/* <linux/futex.h> is not on musl-gcc's include path: the ABI values, and
 * WAKE_OP_ADD_1_IF_0. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE_OP 5
#define WAKE_OP_ADD_1_IF_0 ((1u << 28) | (0u << 24) | (1u << 12) | 0u)

#define BIG (1 << 20)

static int p[2];
static char *buf;
static long result;

static void *reader(void *arg) {
  (void)arg;
  result = read(p[0], buf, 4096);
  if (result < 0)
    result = -errno;
  return NULL;
}

static void *writer(void *arg) {
  (void)arg;
  result = write(p[1], buf, BIG);
  if (result < 0)
    result = -errno;
  return NULL;
}

static void show(const char *what, long r) {
  if (r < 0)
    printf("%s: -1 %s\n", what, errname((int)-r));
  else
    printf("%s: %ld\n", what, r);
}

/* A read blocked on an empty pipe; its buffer goes away; data comes. */
static void blocked_read(void) {
  R("pipe", pipe(p));
  buf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
             -1, 0);
  pthread_t t;
  pthread_create(&t, NULL, reader, NULL);
  usleep(200000); /* the reader sleeps inside read */
  R("munmap the read buffer", munmap(buf, 4096));
  R("write hello", write(p[1], "hello", 5));
  pthread_join(t, NULL);
  show("blocked read", result);
  char got[8] = {0};
  R("the data stayed in the pipe", read(p[0], got, sizeof(got)));
  printf("read back: %s\n", got);
  close(p[0]);
  close(p[1]);
}

/* A big write blocked on a full pipe; its buffer goes away; room comes. */
static void blocked_write(void) {
  R("pipe", pipe(p));
  buf = mmap(NULL, BIG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
             0);
  memset(buf, 'w', BIG);
  pthread_t t;
  pthread_create(&t, NULL, writer, NULL);
  usleep(200000); /* the writer filled the pipe and sleeps */
  R("munmap the write buffer", munmap(buf, BIG));
  static char sink[1 << 16];
  R("drain the pipe", read(p[0], sink, sizeof(sink)));
  pthread_join(t, NULL);
  show("blocked write", result);
  R("nonblocking", fcntl(p[0], F_SETFL, O_NONBLOCK));
  R("nothing more came", read(p[0], sink, sizeof(sink)));
  close(p[0]);
  close(p[1]);
}

static void futexes(void) {
  uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  R("munmap the futex page", munmap(w, 4096));
  R("FUTEX_WAIT on it", syscall(SYS_futex, w, FUTEX_WAIT, 0, NULL, NULL, 0));
  uint32_t other = 0;
  static uint32_t pair[2];
  R("FUTEX_WAKE_OP misaligned",
    syscall(SYS_futex, &other, FUTEX_WAKE_OP, 1, (void *)1, (char *)pair + 2,
            WAKE_OP_ADD_1_IF_0));
  R("FUTEX_WAKE_OP on it", syscall(SYS_futex, &other, FUTEX_WAKE_OP, 1,
                                   (void *)1, w, WAKE_OP_ADD_1_IF_0));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  /* In a child, so the parent can show that the sandbox still works for
   * everyone else afterwards (a lock left held would hang it). */
  int q[2];
  R("pipe between the processes", pipe(q));
  pid_t child = fork();
  if (child == 0) {
    blocked_read();
    blocked_write();
    futexes();
    R("child writes to its parent", write(q[1], "ok", 2));
    _exit(7);
  }
  int status = 0;
  R("waitpid", waitpid(child, &status, 0) == child);
  printf("child exited %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  char got[4] = {0};
  R("parent reads", read(q[0], got, 2));
  printf("parent got: %s\n", got);
  R("parent writes after the faults", write(q[1], "x", 1));
  return 0;
}
