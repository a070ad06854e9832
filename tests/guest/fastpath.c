/* What a rewritten system call site must keep of the `syscall`
 * instruction's contract (moat's fast path, platform/linux/fastpath.c),
 * compared with the native run: the result, rcx = the return address,
 * r11 = rflags and every other register (flags, the red zone below the
 * stack pointer, the SSE registers) unchanged; signal handlers that
 * clobber the FPU in between; SA_RESTART and EINTR; a jump straight to
 * the `syscall` of a site; a mapping placed over any address moat might
 * use; fork and threads running the same sites. Sites are written as
 * `mov $NR, %eax; syscall`, the shape the fast path rewrites, and each
 * runs many times (the first run traps and rewrites it). */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "guest.h"

/* The AVX registers across a site that reads a file (the library OS's
 * copy runs in between; moat keeps the guest's vector state in the
 * registers through a call and saves it only for a signal frame), while
 * handlers that clobber ymm8 and zmm16 arrive: rounds whose ymm8 or
 * zmm16 changed. -1 on a CPU without AVX2 (the same natively). */
static volatile int g_avx_alarms;
#define AVX2 __attribute__((target("avx2")))
#define AVX512 __attribute__((target("avx512f")))

AVX512 static void zmm16_set(const uint64_t *v) {
  __asm__ volatile("vmovdqu64 %0, %%zmm16" ::"m"(*(const uint64_t(*)[8])v)
                   : "xmm16");
}
AVX512 static void zmm16_get(uint64_t *v) {
  __asm__ volatile("vmovdqu64 %%zmm16, %0" : "=m"(*(uint64_t(*)[8])v));
}
AVX512 static void zmm16_clobber(void) {
  __asm__ volatile("vpternlogd $0xff, %%zmm16, %%zmm16, %%zmm16" ::: "xmm16");
}
AVX2 static void ymm8_clobber(void) {
  __asm__ volatile("vpcmpeqd %%ymm8, %%ymm8, %%ymm8" ::: "xmm8");
}

static void clobber_avx(int sig) {
  (void)sig;
  g_avx_alarms++;
  if (__builtin_cpu_supports("avx2"))
    ymm8_clobber();
  if (__builtin_cpu_supports("avx512f"))
    zmm16_clobber();
}

/* One pread through the site shape with ymm8 holding in; out gets ymm8
 * after it. */
AVX2 static long ymm8_pread(int fd, char *buf, size_t len, const uint64_t *in,
                            uint64_t *out) {
  register long r10 __asm__("r10") = 0;
  long ret;
  __asm__ volatile("vmovdqu %[in], %%ymm8\n\t"
                   "movl $17, %%eax\n\t" /* pread64 */
                   "syscall\n\t"
                   "vmovdqu %%ymm8, %[out]\n\t"
                   "vzeroupper"
                   : [out] "=m"(*(uint64_t(*)[4])out), "=a"(ret)
                   : [in] "m"(*(const uint64_t(*)[4])in), "D"(fd), "S"(buf),
                     "d"(len), "r"(r10)
                   : "rcx", "r11", "xmm8", "memory");
  return ret;
}

static int avx_kept(int fd, int rounds) {
  if (!__builtin_cpu_supports("avx2"))
    return -1;
  int z = __builtin_cpu_supports("avx512f");
  int bad = 0;
  for (int i = 0; i < rounds; i++) {
    uint64_t in[4], out[4] = {0}, zin[8], zout[8] = {0};
    for (int k = 0; k < 8; k++)
      zin[k] = ~(0x0123456789abcdefull * (uint64_t)(i + k + 1));
    for (int k = 0; k < 4; k++)
      in[k] = 0x0123456789abcdefull * (uint64_t)(i + k + 1);
    char buf[512];
    if (z)
      zmm16_set(zin);
    long ret = ymm8_pread(fd, buf, sizeof buf, in, out);
    if (z)
      zmm16_get(zout);
    bad += ret != (long)sizeof buf || memcmp(in, out, sizeof in) != 0 ||
           (z && memcmp(zin, zout, sizeof zin) != 0);
  }
  return bad;
}

/* getppid through the site shape, returning rcx and r11 as the
 * instruction left them and whether CF survived. */
static long site_getppid(uint64_t *rcx, uint64_t *r11, uint64_t *ret_addr,
                         int *cf) {
  long r;
  uint64_t c, f, at;
  unsigned char carry;
  __asm__ volatile("lea 1f(%%rip), %[at]\n\t"
                   "stc\n\t"
                   "movl $110, %%eax\n\t"
                   "syscall\n"
                   "1:\n\t"
                   "setc %[carry]\n\t"
                   "mov %%r11, %[f]\n\t"
                   : "=a"(r),
                     "=c"(c), [f] "=&r"(f), [at] "=&r"(at), [carry] "=&r"(carry)
                   :
                   : "r11", "memory", "cc");
  *rcx = c;
  *r11 = f;
  *ret_addr = at;
  *cf = carry;
  return r;
}

/* write(2) through the site shape. */
static long site_write(int fd, const void *buf, size_t len) {
  long r;
  __asm__ volatile("movl $1, %%eax\n\tsyscall"
                   : "=a"(r)
                   : "D"((long)fd), "S"(buf), "d"(len)
                   : "rcx", "r11", "memory");
  return r;
}

/* read(2) through the site shape. */
static long site_read(int fd, void *buf, size_t len) {
  long r;
  __asm__ volatile("movl $0, %%eax\n\tsyscall"
                   : "=a"(r)
                   : "D"((long)fd), "S"(buf), "d"(len)
                   : "rcx", "r11", "memory");
  return r;
}

/* The red zone: 128 bytes below rsp that a leaf function may use and a
 * system call must not touch. */
static int red_zone_kept(void) {
  long bad;
  __asm__ volatile("movq $0x1111, -8(%%rsp)\n\t"
                   "movq $0x2222, -64(%%rsp)\n\t"
                   "movq $0x3333, -128(%%rsp)\n\t"
                   "movl $110, %%eax\n\t"
                   "syscall\n\t"
                   "xorl %%eax, %%eax\n\t"
                   "cmpq $0x1111, -8(%%rsp)\n\t"
                   "setne %%al\n\t"
                   "cmpq $0x2222, -64(%%rsp)\n\t"
                   "setne %%cl\n\t"
                   "orb %%cl, %%al\n\t"
                   "cmpq $0x3333, -128(%%rsp)\n\t"
                   "setne %%cl\n\t"
                   "orb %%cl, %%al\n\t"
                   : "=a"(bad)
                   :
                   : "rcx", "r11", "memory", "cc");
  return !bad;
}

/* xmm6 and xmm7 hold values across a site while signal handlers that
 * use the FPU run in between. */
static volatile sig_atomic_t g_alarms;
static volatile double g_sink;

static void clobber_fpu(int sig) {
  double x = 1.5;
  for (int i = 0; i < 50; i++)
    x = x * 1.0001 + (double)i;
  g_sink = x;
  __asm__ volatile("pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7" ::
                       : "xmm6", "xmm7");
  g_alarms++;
}

static int fpu_kept(int rounds) {
  int bad = 0;
  for (int i = 0; i < rounds; i++) {
    uint64_t lo = 0x0123456789abcdefull + (uint64_t)i, hi = ~lo, olo, ohi;
    __asm__ volatile("movq %[lo], %%xmm6\n\t"
                     "movq %[hi], %%xmm7\n\t"
                     "movl $110, %%eax\n\t"
                     "syscall\n\t"
                     "movq %%xmm6, %[olo]\n\t"
                     "movq %%xmm7, %[ohi]\n\t"
                     : [olo] "=r"(olo), [ohi] "=r"(ohi)
                     : [lo] "r"(lo), [hi] "r"(hi)
                     : "rax", "rcx", "r11", "xmm6", "xmm7", "memory");
    if (olo != lo || ohi != hi)
      bad++;
  }
  return bad;
}

static volatile sig_atomic_t g_usr1;
static void on_usr1(int sig) {
  g_usr1++;
}

/* A read blocked at a site is interrupted by a signal: with SA_RESTART it
 * goes on (through the site's `syscall`), without it fails with EINTR. */
static void restart_case(int restart) {
  int p[2];
  if (pipe(p) < 0)
    return;
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigaction(SIGUSR1, &sa, NULL);
  g_usr1 = 0;
  pid_t parent = getpid();
  pid_t child = fork();
  if (child == 0) {
    /* The signal comes while the parent sleeps in its read; the byte
     * (with SA_RESTART) after it: the output is the same whichever the
     * parent sees first. */
    wait_sleeping(parent);
    kill(parent, SIGUSR1);
    if (restart) {
      usleep(2000);
      site_write(p[1], "x", 1);
    }
    _exit(0);
  }
  char c = 0;
  long r = site_read(p[0], &c, 1);
  int st;
  waitpid(child, &st, 0);
  if (r < 0)
    printf("restart=%d: read %s, handler ran %d\n", restart, errname((int)-r),
           (int)g_usr1);
  else
    printf("restart=%d: read %ld '%c', handler ran %d\n", restart, r, c,
           (int)g_usr1);
  close(p[0]);
  close(p[1]);
}

/* A jump to the `syscall` of a site with rax set, as a retry loop does. */
static long jump_to_syscall(void) {
  long r;
  __asm__ volatile("movl $110, %%eax\n\t"
                   "jmp 2f\n\t"
                   "1:\n\t"
                   "movl $110, %%eax\n\t"
                   "2:\n\t"
                   "syscall\n\t"
                   : "=a"(r)
                   :
                   : "rcx", "r11", "memory");
  return r;
}

static void *thread_main(void *arg) {
  long *ok = arg;
  for (int i = 0; i < 2000; i++) {
    uint64_t c, f, at;
    int cf;
    if (site_getppid(&c, &f, &at, &cf) == getppid())
      (*ok)++;
  }
  return NULL;
}

/* read(2) and write(2) through libc's own wrappers (glibc's read has a
 * shape of its own: a branch on whether the process is single-threaded
 * before its `syscall`). */
static void libc_read_loop(const char *label) {
  int p[2];
  int ok = 0;
  if (pipe(p) < 0)
    return;
  for (int i = 0; i < 1000; i++) {
    char c = 0;
    if (write(p[1], "z", 1) == 1 && read(p[0], &c, 1) == 1 && c == 'z')
      ok++;
  }
  printf("%s: libc read %d of 1000\n", label, ok);
  close(p[0]);
  close(p[1]);
}

static int g_park[2];
static void *parked(void *arg) {
  char c;
  return (void *)(long)read(g_park[0], &c, 1);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  long want = getppid();
  int same = 0, rcx_ok = 0, cf_ok = 0, r11_ok = 0;
  for (int i = 0; i < 1000; i++) {
    uint64_t c, f, at;
    int cf;
    if (site_getppid(&c, &f, &at, &cf) == want)
      same++;
    rcx_ok += c == at;
    cf_ok += cf == 1;
    r11_ok += (f & 1) == 1; /* CF was set when the call was made */
  }
  printf("getppid: %d of 1000 right, rcx %d, r11 %d, CF kept %d\n", same,
         rcx_ok, r11_ok, cf_ok);

  int zone = 0;
  for (int i = 0; i < 100; i++)
    zone += red_zone_kept();
  printf("red zone kept: %d of 100\n", zone);

  /* Signals that clobber the FPU arrive every 200 us while the loop runs
   * its site. */
  signal(SIGALRM, clobber_fpu);
  struct itimerval it = {{0, 200}, {0, 200}};
  setitimer(ITIMER_REAL, &it, NULL);
  int bad = fpu_kept(200000);
  struct itimerval off = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &off, NULL);
  signal(SIGALRM, SIG_DFL);
  printf("fpu: %d rounds changed, alarms %s\n", bad,
         g_alarms > 0 ? "came" : "never came");

  /* The same for AVX registers, around a site that copies file data. */
  int fd = open("/proc/self/exe", O_RDONLY);
  signal(SIGALRM, clobber_avx);
  setitimer(ITIMER_REAL, &it, NULL);
  int avx_bad = avx_kept(fd, 100000);
  setitimer(ITIMER_REAL, &off, NULL);
  signal(SIGALRM, SIG_DFL);
  close(fd);
  if (avx_bad < 0)
    printf("avx: no AVX2 here\n");
  else
    printf("avx: %d rounds changed, alarms %s\n", avx_bad,
           g_avx_alarms > 0 ? "came" : "never came");

  restart_case(1);
  restart_case(0);

  printf("jump to syscall: %s\n", jump_to_syscall() == want ? "ok" : "wrong");

  pid_t child = fork();
  if (child == 0) {
    long ok = 0;
    for (int i = 0; i < 1000; i++) {
      uint64_t c, f, r;
      int cf;
      ok += site_getppid(&c, &f, &r, &cf) > 0;
    }
    _exit(ok == 1000 ? 0 : 1);
  }
  int st;
  waitpid(child, &st, 0);
  printf("fork child: %s\n",
         WIFEXITED(st) && WEXITSTATUS(st) == 0 ? "ok" : "wrong");

  libc_read_loop("one thread");
  pthread_t park;
  if (pipe(g_park) == 0 && pthread_create(&park, NULL, parked, NULL) == 0) {
    libc_read_loop("two threads");
    write(g_park[1], "w", 1);
    void *got;
    pthread_join(park, &got);
    printf("parked thread's read: %ld\n", (long)got);
  }

  pthread_t th[4];
  long ok[4] = {0};
  for (int i = 0; i < 4; i++)
    pthread_create(&th[i], NULL, thread_main, &ok[i]);
  long total = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    total += ok[i];
  }
  printf("threads: %ld of 8000 right\n", total);
  /* A mapping at addresses moat might use for itself (the fast path's
   * table lies at 0x050f0000): the guest's own, and sites still work.
   * Not MAP_FIXED: the brk heap starts at a random place up to 32 MiB
   * past the program, natively too, and may be there already (replacing
   * it crashed the native run now and then); then the next free MiB. */
  size_t len = 1 << 20;
  char *at = MAP_FAILED;
  for (uintptr_t a = 0x05000000; at == MAP_FAILED && a < 0x09000000; a += len) {
    at = mmap((void *)a, len, PROT_READ | PROT_WRITE,
              MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (at == MAP_FAILED && errno != EEXIST)
      break;
  }
  if (at == MAP_FAILED) {
    printf("mmap fixed: %s\n", errname(errno));
  } else {
    memset(at, 0x5a, len);
    unsigned sum = 0;
    for (size_t i = 0; i < len; i += 4096)
      sum += (unsigned char)at[i];
    uint64_t c, f, r;
    int cf;
    long got = 0;
    for (int i = 0; i < 100; i++)
      got += site_getppid(&c, &f, &r, &cf) == want;
    printf("mmap fixed: sum %u, getppid after: %ld of 100, write %ld\n", sum,
           got, site_write(1, "", 0));
    munmap(at, len);
  }

  return 0;
}
