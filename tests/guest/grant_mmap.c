/* Private and shared mappings of files on a host grant, the way programs
 * and libraries are mapped: their pages come from the host file (in moat
 * through the page cache's pool, which the Linux platform fills with
 * splice; a forked process makes its own pipe). Checked against read(2):
 * whole files of several sizes (a tail that is not a whole page, more
 * than one pool chunk), mappings at an offset, several processes mapping
 * different files at once, an unwritten private page that sees a later
 * write(2) of the file while a written one keeps its copy, and a page
 * past the end of the file (SIGBUS). tests/run.py runs it in a fresh
 * directory: natively a host directory, inside moat that directory as an
 * rw --mount (the cwd). */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "guest.h"

#define PG 4096
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

static uint32_t g_seed = 12345;
static unsigned char next_byte(void) {
  g_seed = g_seed * 1103515245u + 12345u;
  return (unsigned char)(g_seed >> 16);
}

static size_t g_sizes[] = {20000, 65536, 300001, 1 << 20, (3 << 20) + 123};

static void make_file(const char *name, size_t size) {
  int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
  unsigned char *buf = malloc(size);
  for (size_t i = 0; i < size; i++)
    buf[i] = next_byte();
  size_t done = 0;
  while (done < size) {
    ssize_t n = write(fd, buf + done, size - done);
    if (n <= 0)
      break;
    done += (size_t)n;
  }
  free(buf);
  close(fd);
}

/* Map name privately (at offset off, len bytes) and compare every byte
 * with pread: 1 when equal. */
static int same_as_read(const char *name, off_t off, size_t len) {
  int fd = open(name, O_RDONLY);
  if (fd < 0)
    return 0;
  unsigned char *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, off);
  unsigned char *buf = malloc(len);
  ssize_t n = pread(fd, buf, len, off);
  int ok = p != MAP_FAILED && n == (ssize_t)len && memcmp(p, buf, len) == 0;
  if (p != MAP_FAILED)
    munmap(p, len);
  free(buf);
  close(fd);
  return ok;
}

static sigjmp_buf g_jump;
static void on_bus(int sig) {
  siglongjmp(g_jump, sig);
}

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  char name[32];
  for (size_t i = 0; i < ARRAY_SIZE(g_sizes); i++) {
    snprintf(name, sizeof name, "f%zu", i);
    make_file(name, g_sizes[i]);
  }
  for (size_t i = 0; i < ARRAY_SIZE(g_sizes); i++) {
    snprintf(name, sizeof name, "f%zu", i);
    printf("%zu bytes, whole: %d\n", g_sizes[i],
           same_as_read(name, 0, g_sizes[i]));
    if (g_sizes[i] > 5 * PG)
      printf("%zu bytes, from page 3: %d\n", g_sizes[i],
             same_as_read(name, 3 * PG, g_sizes[i] - 3 * PG));
  }
  /* Several processes at once, each mapping every file (a fresh cache for
   * the files nobody maps any more, filled by each process's own pipe). */
  pid_t kids[4];
  for (int k = 0; k < 4; k++) {
    kids[k] = fork();
    if (kids[k] == 0) {
      int ok = 1;
      for (int round = 0; round < 3; round++)
        for (size_t i = 0; i < ARRAY_SIZE(g_sizes); i++) {
          char nm[32];
          snprintf(nm, sizeof nm, "f%zu",
                   (i + (size_t)k) % ARRAY_SIZE(g_sizes));
          ok &= same_as_read(nm, 0,
                             g_sizes[(i + (size_t)k) % ARRAY_SIZE(g_sizes)]);
        }
      _exit(ok ? 0 : 1);
    }
  }
  int all = 1;
  for (int k = 0; k < 4; k++) {
    int st = 0;
    waitpid(kids[k], &st, 0);
    all &= WIFEXITED(st) && WEXITSTATUS(st) == 0;
  }
  FACT("4 processes mapping at once, every byte as read", all);

  /* An unwritten private page follows the file; a written one does not. */
  int fd = open("f3", O_RDWR);
  char *p = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  p[PG] = 'W';
  pwrite(fd, "ZZ", 2, 0);
  pwrite(fd, "YY", 2, PG + 1);
  printf("unwritten page sees the write: %c%c\n", p[0], p[1]);
  printf("written page keeps its copy: %c %d\n", p[PG],
         p[PG + 1] == 'Y' ? 1 : 0);
  munmap(p, 8 * PG);

  /* Past the end of the file: SIGBUS, as Linux. */
  ftruncate(fd, PG + 100);
  p = mmap(NULL, 4 * PG, PROT_READ, MAP_PRIVATE, fd, 0);
  signal(SIGBUS, on_bus);
  int sig = sigsetjmp(g_jump, 1);
  char c50 = 0;
  pread(fd, &c50, 1, PG + 50);
  if (!sig)
    printf("last page of the file: %d, tail zero: %d\n", p[PG + 50] == c50,
           p[PG + 100] == 0);
  sig = sigsetjmp(g_jump, 1);
  if (!sig) {
    volatile char c = p[2 * PG];
    printf("past the end: read %d\n", c);
  } else {
    printf("past the end: signal %d\n", sig);
  }
  munmap(p, 4 * PG);
  close(fd);
  return 0;
}
