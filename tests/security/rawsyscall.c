/* Interception holds for code the guest makes at run time: a `syscall`
 * instruction written into a fresh mapping (RWX, RW then RX, and split
 * across two pages) must reach the sandbox, not the host, so getpid is the
 * sandbox's 1. Expected output is checked by tests/run.py. */
#include <stdint.h>
#include <sys/mman.h>

#include "guest.h"

typedef long (*sys6_fn)(long, long, long, long, long, long);

/* mov %rdi,%rax; mov %rsi,%rdi; mov %rdx,%rsi; mov %rcx,%rdx;
 * mov %r8,%r10; mov %r9,%r8; syscall; ret */
static const unsigned char k_sys6[] = {
    0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6, 0x48, 0x89,
    0xca, 0x4d, 0x89, 0xc2, 0x4d, 0x89, 0xc8, 0x0f, 0x05, 0xc3};
/* mov $39,%eax; syscall; ret */
static const unsigned char k_getpid[] = {0xb8, 0x27, 0x00, 0x00,
                                         0x00, 0x0f, 0x05, 0xc3};

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("libc getpid: %d\n", getpid());

  unsigned char *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (rwx == MAP_FAILED) {
    printf("mmap rwx: %s\n", errname(errno));
  } else {
    memcpy(rwx, k_getpid, sizeof k_getpid);
    printf("raw getpid (rwx page): %ld\n", ((long (*)(void))rwx)());
  }

  unsigned char *rx = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memcpy(rx, k_sys6, sizeof k_sys6);
  if (mprotect(rx, 4096, PROT_READ | PROT_EXEC) < 0) {
    printf("mprotect rx: %s\n", errname(errno));
  } else {
    sys6_fn sys6 = (sys6_fn)rx;
    printf("raw getpid (rw then rx page): %ld\n", sys6(39, 0, 0, 0, 0, 0));
    printf("raw getuid: %ld\n", sys6(102, 0, 0, 0, 0, 0));
    printf("raw write: %ld\n", sys6(1, 1, (long)"hello\n", 6, 0, 0));
    long fd = sys6(257, -100, (long)"/root/.bashrc", 0, 0, 0);
    if (fd < 0)
      printf("raw open /root/.bashrc: denied\n");
    else
      printf("raw open /root/.bashrc: opened %ld\n", fd);
  }

  /* the two bytes of `syscall` on both sides of a page boundary */
  unsigned char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *start = two + 4096 - 6; /* b8 27 00 00 00 0f | 05 c3 */
  memcpy(start, k_getpid, sizeof k_getpid);
  if (mprotect(two, 8192, PROT_READ | PROT_EXEC) < 0)
    printf("mprotect split: %s\n", errname(errno));
  else
    printf("raw getpid (split across pages): %ld\n", ((long (*)(void))start)());
  return 0;
}
