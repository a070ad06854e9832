/* Interception holds for code the guest makes at run time: `syscall`
 * instructions written into fresh mappings (RWX, RW then RX, and split
 * across two pages) must reach the sandbox, never the host. Each call is
 * one whose emulated answer differs from what the host kernel would say:
 * the ids and hostname the runner gives moat (--user 4242:4343 --hostname
 * moat-raw-test), the sandbox's cwd (--cwd /tmp), and a file that exists
 * only inside the sandbox. Expected lines are checked by tests/run.py. */
#include <stdint.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <signal.h>

#include "guest.h"

typedef long (*sys6_fn)(long, long, long, long, long, long);

/* mov %rdi,%rax; mov %rsi,%rdi; mov %rdx,%rsi; mov %rcx,%rdx;
 * mov %r8,%r10; mov %r9,%r8; syscall; ret */
static const unsigned char k_sys6[] = {
    0x48, 0x89, 0xf8, 0x48, 0x89, 0xf7, 0x48, 0x89, 0xd6, 0x48, 0x89,
    0xca, 0x4d, 0x89, 0xc2, 0x4d, 0x89, 0xc8, 0x0f, 0x05, 0xc3};
/* mov $102,%eax (getuid); syscall; ret */
static const unsigned char k_getuid[] = {0xb8, 0x66, 0x00, 0x00,
                                         0x00, 0x0f, 0x05, 0xc3};

static void calls(const char *how, sys6_fn sys6) {
  printf("%s getpid: %ld\n", how, sys6(39, 0, 0, 0, 0, 0));
  printf("%s getuid: %ld\n", how, sys6(102, 0, 0, 0, 0, 0));
  printf("%s getgid: %ld\n", how, sys6(104, 0, 0, 0, 0, 0));
  struct utsname u;
  memset(&u, 0, sizeof u);
  long r = sys6(63, (long)&u, 0, 0, 0, 0);
  printf("%s uname: %ld %s\n", how, r, u.nodename);
  char cwd[256] = {0};
  r = sys6(79, (long)cwd, sizeof cwd, 0, 0, 0);
  printf("%s getcwd: %s\n", how, r > 0 ? cwd : "(failed)");
  long fd = sys6(257, -100, (long)"/tmp/sandbox-only.txt", O_RDONLY, 0, 0);
  char buf[64] = {0};
  if (fd >= 0) {
    sys6(0, fd, (long)buf, sizeof buf - 1, 0, 0);
    sys6(3, fd, 0, 0, 0, 0);
    char *nl = strchr(buf, '\n');
    if (nl)
      *nl = 0;
  }
  printf("%s open sandbox-only file: %s\n", how, fd >= 0 ? buf : "failed");
  r = sys6(257, -100, (long)"/root/.bashrc", O_RDONLY, 0, 0);
  printf("%s open /root/.bashrc: %s\n", how, r < 0 ? "denied" : "opened");
  printf("%s write: %ld\n", how, sys6(1, 1, (long)"hello\n", 6, 0, 0));
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  write_file("/tmp/sandbox-only.txt", "only in the sandbox\n");
  printf("libc getpid: %d\n", getpid());

  unsigned char *rwx = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (rwx == MAP_FAILED) {
    printf("mmap rwx: %s\n", errname(errno));
  } else {
    memcpy(rwx, k_sys6, sizeof k_sys6);
    calls("rwx", (sys6_fn)rwx);
  }

  unsigned char *rx = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memcpy(rx, k_sys6, sizeof k_sys6);
  if (mprotect(rx, 4096, PROT_READ | PROT_EXEC) < 0)
    printf("mprotect rx: %s\n", errname(errno));
  else
    calls("rx", (sys6_fn)rx);

  /* the two bytes of `syscall` on both sides of a page boundary */
  unsigned char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  unsigned char *start = two + 4096 - 6; /* b8 66 00 00 00 0f | 05 c3 */
  memcpy(start, k_getuid, sizeof k_getuid);
  if (mprotect(two, 8192, PROT_READ | PROT_EXEC) < 0)
    printf("mprotect split: %s\n", errname(errno));
  else
    printf("split getuid: %ld\n", ((long (*)(void))start)());

  /* The 32-bit entry (int 0x80, which clears r8-r11), in a child: it
   * must never run on the host (natively this write prints LEAK; tests/run.py
   * checks it does not appear) and never end the sandbox. A host with
   * IA32 emulation lets the filter see it (ENOSYS); one without raises
   * SIGSEGV at the instruction, natively too. The message sits in the
   * static binary, below 4 GiB. */
  fflush(stdout);
  pid_t child = fork();
  if (child == 0) {
    static const char leak[] = "LEAK from int 0x80\n";
    long r = 4; /* i386 write */
    __asm__ volatile("int $0x80"
                     : "+a"(r)
                     : "b"(1), "c"((long)leak), "d"(sizeof leak - 1)
                     : "r8", "r9", "r10", "r11", "memory");
    printf("int80 write: %s\n", r == -38 ? "ENOSYS" : "ran");
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  if (WIFSIGNALED(status))
    printf("int80 write: %s\n",
           WTERMSIG(status) == SIGSEGV ? "SIGSEGV" : "other signal");
  printf("after int80: alive\n");
  return 0;
}
