/* vm.max_map_count: map one-page mappings of alternating protection (so
 * no two merge) until mmap fails, then check what Linux does at the
 * limit: the failure is ENOMEM near /proc/sys/vm/max_map_count mappings
 * (counted as lines of /proc/self/maps; the exact count differs by the
 * few mappings a loader or the host makes, so only "near" is printed);
 * unmapping a whole mapping makes room for exactly one more; an
 * mprotect or munmap that would split a mapping in the middle is ENOMEM
 * and leaves it whole; munmap of a mapping's first page (a split that
 * adds no mapping) works; mremap that must move is ENOMEM; and once
 * everything is unmapped, /proc/self/maps is back where it started.
 * Nothing here allocates while at the limit (malloc could not). */
#include "guest.h"

#include <stdint.h>
#include <sys/mman.h>

#define PAGE 4096
#define MAX_MAPS 1100000

static void *g_maps[MAX_MAPS];
static char g_buf[1 << 16];
static char g_out[4096];

/* Lines of /proc/self/maps, read with a static buffer; -1 on error. */
static long maps_lines(void) {
  int fd = open("/proc/self/maps", O_RDONLY);
  if (fd < 0)
    return -1;
  long lines = 0;
  for (;;) {
    ssize_t n = read(fd, g_buf, sizeof(g_buf));
    if (n < 0) {
      lines = -1;
      break;
    }
    if (n == 0)
      break;
    for (ssize_t i = 0; i < n; i++)
      lines += g_buf[i] == '\n';
  }
  close(fd);
  return lines;
}

static long read_limit(void) {
  int fd = open("/proc/sys/vm/max_map_count", O_RDONLY);
  if (fd < 0)
    return -1;
  ssize_t n = read(fd, g_buf, 64);
  close(fd);
  if (n <= 0)
    return -1;
  g_buf[n] = 0;
  return strtol(g_buf, NULL, 10);
}

static const char *result(long r) {
  return r == 0 ? "0" : errname(errno);
}

int main(void) {
  setvbuf(stdout, g_out, _IOLBF, sizeof(g_out));
  long limit = read_limit();
  printf("max_map_count readable: %s\n", limit > 0 ? "yes" : "no");
  long start_lines = maps_lines();
  /* A three-page mapping to split at the limit, marked in its pages. */
  char *three = mmap(NULL, 3 * PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (three == MAP_FAILED) {
    printf("mmap of three pages: %s\n", errname(errno));
    return 1;
  }
  for (int i = 0; i < 3; i++)
    three[i * PAGE] = (char)('a' + i);

  long n = 0;
  int err = 0;
  while (n < MAX_MAPS) {
    void *p = mmap(NULL, PAGE, (n & 1) ? PROT_NONE : PROT_READ,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      err = errno;
      break;
    }
    g_maps[n++] = p;
  }
  printf("mapping until failure: %s\n", err ? errname(err) : "no failure");
  long lines = maps_lines();
  long near = limit - lines;
  printf("maps lines at the failure within 128 of max_map_count: %s\n",
         near >= -128 && near <= 128 ? "yes" : "no");
  printf("successful mmaps + the start's lines + 1 == lines: %s\n",
         n + start_lines + 1 == lines ? "yes" : "no");

  /* Splits in the middle of the three pages: no room for another VMA. */
  printf("mprotect of the middle page: %s\n",
         result(mprotect(three + PAGE, PAGE, PROT_READ)));
  printf("munmap of the middle page: %s\n", result(munmap(three + PAGE, PAGE)));
  printf("the three pages still hold a b c: %s\n",
         three[0] == 'a' && three[PAGE] == 'b' && three[2 * PAGE] == 'c'
             ? "yes"
             : "no");
  printf("lines unchanged: %s\n", maps_lines() == lines ? "yes" : "no");
  /* A mapping that cannot grow in place must move: no room. */
  void *moved = mremap(g_maps[n - 1], PAGE, 64 * PAGE, MREMAP_MAYMOVE);
  printf("mremap that moves: %s\n",
         moved == MAP_FAILED ? errname(errno) : "moved");
  /* One mapping fewer makes room for exactly one more (a protection no
   * neighbour has, so that it cannot merge). */
  printf("munmap of one whole mapping: %s\n",
         result(munmap(g_maps[n / 2], PAGE)));
  void *again = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("one mmap again: %s\n", again == MAP_FAILED ? errname(errno) : "0");
  void *more = mmap(NULL, PAGE, PROT_READ | PROT_EXEC,
                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("and the next: %s\n", more == MAP_FAILED ? errname(errno) : "0");
  /* A split at a mapping's edge adds no VMA: allowed at the limit. */
  printf("munmap of the first page of three: %s\n",
         result(munmap(three, PAGE)));
  printf("the other two still hold b c: %s\n",
         three[PAGE] == 'b' && three[2 * PAGE] == 'c' ? "yes" : "no");

  for (long i = 0; i < n; i++)
    if (i != n / 2)
      munmap(g_maps[i], PAGE);
  if (again != MAP_FAILED)
    munmap(again, PAGE);
  if (more != MAP_FAILED)
    munmap(more, PAGE);
  munmap(three + PAGE, 2 * PAGE);
  printf("after unmapping all, lines as at the start: %s\n",
         maps_lines() == start_lines ? "yes" : "no");
  void *p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  printf("mmap works again: %s\n", p == MAP_FAILED ? errname(errno) : "yes");
  return 0;
}
