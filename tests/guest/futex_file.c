/* A process-shared futex in a MAP_SHARED file mapping is the file's word,
 * whatever address each process maps it at (Linux keys it by inode and
 * offset; issue 9, item 1): a child maps the file at another address than
 * its parent, waits on the word, and the parent's FUTEX_WAKE through its
 * own mapping wakes it. The parent repeats the wake until it reports one
 * woken (the child may not sleep yet), for at most 10 s, so the output
 * does not depend on scheduling; then the child says how its wait ended. */
#include "guest.h"

#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>

static long futex(uint32_t *word, int op, uint32_t val) {
  return syscall(SYS_futex, word, op, val, NULL, NULL, 0);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  enter_workdir("futex_file");
  int fd = open("word", O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (ftruncate(fd, 4096) < 0)
    return 1;
  int ready[2];
  if (pipe(ready) < 0)
    return 1;
  pid_t pid = fork();
  if (pid == 0) {
    /* Another address than the parent's: a page in front of it. */
    void *pad =
        mmap(NULL, 3 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint32_t *w = mmap((char *)pad + 4096, 4096, PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_FIXED, fd, 0);
    write(ready[1], "r", 1);
    long r = 0;
    while (__atomic_load_n(w, __ATOMIC_SEQ_CST) == 0 && r == 0)
      r = futex(w, FUTEX_WAIT, 0);
    /* r is 0 (woken) or EAGAIN (the word changed first): either way the
     * wait ended, which is what the parent's count shows. */
    printf("child: wait ended, word %u\n", *w);
    _exit(0);
  }
  uint32_t *w = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char c;
  read(ready[0], &c, 1);
  long woken = 0;
  struct timespec pause = {0, 10 * 1000 * 1000};
  for (int i = 0; i < 1000 && woken == 0; i++) {
    woken = futex(w, FUTEX_WAKE, 1);
    if (!woken)
      nanosleep(&pause, NULL);
  }
  printf("parent: woken %ld\n", woken);
  __atomic_store_n(w, 1, __ATOMIC_SEQ_CST);
  futex(w, FUTEX_WAKE, 1);
  if (!woken)
    kill(pid, SIGKILL);
  int status;
  waitpid(pid, &status, 0);
  printf("child exited: %d\n", WIFEXITED(status));
  return 0;
}
